"""Playbooks (``playbooks.yaml``): the ordered tasks a CTA brings, with due-date offsets
and owner roles.

A playbook that is wrong is reported (file, line, reason) and left out; the others load.
Task due date = the CTA's opening day + ``due_days``; for a CTA preparing an event (a
renewal, the rule's ``due_in``) counted backwards from it instead, ``before_days``
before it at the latest (:mod:`keepwell.success.routing`); the owner is the CTA's owner for
role ``csm``, else the address the rules file gives the role (``assignment.roles``),
else the CTA's owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from importlib.resources import files

import yaml

from keepwell.core.errors import ConfigurationError
from keepwell.core.yamlfile import Reader, compose, days, identifier, text

PLAYBOOKS_FILE = "playbooks.yaml"
CSM_ROLE = "csm"


@dataclass(frozen=True)
class TaskTemplate:
    title: str
    due_days: int
    owner_role: str = CSM_ROLE
    #: For a CTA preparing an event (a renewal): at least this many days before it.
    before_days: int = 0


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    tasks: tuple[TaskTemplate, ...]

    def due_on(self, opened_on: date) -> date | None:
        """The day the last task is due (None for a playbook without tasks)."""
        if not self.tasks:
            return None
        return opened_on + timedelta(days=max(t.due_days for t in self.tasks))


@dataclass(frozen=True)
class Playbooks:
    """The valid playbooks of a file and the problems of the others."""

    source: str
    playbooks: dict[str, Playbook]
    problems: tuple[str, ...] = ()


def default_playbooks_text() -> str:
    """The commented default ``playbooks.yaml`` shipped with Keepwell."""
    return files("keepwell.success").joinpath("default_playbooks.yaml").read_text("utf-8")


def parse_playbooks(text_: str, source: str = PLAYBOOKS_FILE) -> Playbooks:
    """Validate the YAML ``text_``: every valid playbook, and one problem per bad one."""
    try:
        root = compose(text_, source)
        reader = Reader(source)
        keys = reader.mapping(root, "the playbooks file", ["playbooks"], ["version"])
        reader.version(keys)
        items = reader.named(keys["playbooks"], "playbooks")
    except ConfigurationError as exc:
        return Playbooks(source, {}, (str(exc),))
    found: dict[str, Playbook] = {}
    problems: list[str] = []
    for name, _key, node in items:
        try:
            found[name] = _playbook(reader, name, node)
        except ConfigurationError as exc:
            problems.append(str(exc))
    return Playbooks(source, found, tuple(problems))


def _playbook(reader: Reader, name: str, node: yaml.Node) -> Playbook:
    keys = reader.mapping(node, f"playbook {name!r}", ["tasks"], ["description"])
    tasks = []
    for item in reader.sequence(keys["tasks"], "tasks"):
        task = reader.mapping(item, "a task", ["title", "due_days"], ["owner_role", "before_days"])
        tasks.append(
            TaskTemplate(
                title=reader.value(task["title"], "title", text),
                due_days=reader.value(task["due_days"], "due_days", days),
                owner_role=reader.opt(task, "owner_role", identifier, CSM_ROLE),
                before_days=reader.opt(task, "before_days", days, 0),
            )
        )
    if not tasks:
        raise reader.fail(keys["tasks"], f"playbook {name!r} has no tasks")
    return Playbook(name, reader.opt(keys, "description", text, ""), tuple(tasks))
