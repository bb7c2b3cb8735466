"""Tech-touch email templates: Jinja text files whose first line is ``Subject: ...``.

The templates live in ``templates/tech_touch/NAME.txt``; every email gets the same
footer with its unsubscribe link, whatever the template says.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from keepwell.core.errors import ConfigurationError, NotFoundError

TEMPLATES = Path(__file__).parent / "templates" / "tech_touch"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # plain-text emails
    keep_trailing_newline=False,
)

FOOTER = (
    "\n\n--\nYou receive this email as a contact of {account_name}.\n"
    "Unsubscribe from these emails: {unsubscribe_url}\n"
)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str


def template_names() -> list[str]:
    """The names of the shipped tech-touch templates."""
    return sorted(p.stem for p in TEMPLATES.glob("*.txt"))


def render_tech_touch(name: str, context: dict[str, Any]) -> RenderedEmail:
    """Render template ``name`` with ``context`` (which must hold ``account_name`` and
    ``unsubscribe_url``) and append the unsubscribe footer."""
    if name not in template_names():
        raise NotFoundError(
            f"no tech-touch template {name!r}", hint=f"known: {', '.join(template_names())}"
        )
    try:
        text = _env.get_template(f"{name}.txt").render(**context)
    except jinja2.TemplateError as exc:
        raise ConfigurationError(f"tech-touch template {name!r} cannot be rendered: {exc}") from exc
    head, _, rest = text.partition("\n")
    if not head.startswith("Subject:"):
        raise ConfigurationError(f"tech-touch template {name!r} must start with 'Subject: '")
    body = rest.strip("\n") + FOOTER.format(**context)
    return RenderedEmail(head.removeprefix("Subject:").strip(), body)
