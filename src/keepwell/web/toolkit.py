"""The web pages' shared machinery: templates, the signed-in user, forms, errors, static.

Pages are server-rendered Jinja2 (autoescaped) and readable without JavaScript; charts
are Plotly figures embedded as JSON and drawn by plotly.js, served from the installed
``plotly`` package (no CDN). A page runs :func:`page_user` first: it reads the session
cookie (redirecting to ``/login`` without one), and sets ``request.state.principal`` and
``request.state.owner_scope`` exactly like the API's authentication, so the audit log
and the CSM restriction apply to pages too. Every form carries the session's CSRF token.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from keepwell.auth import service as auth_service
from keepwell.auth.errors import AuthenticationError, PermissionDeniedError
from keepwell.auth.principal import Principal
from keepwell.auth.sessions import CSRF_FIELD, SESSION_COOKIE, same_token
from keepwell.core.errors import ConfigurationError, KeepwellError
from keepwell.core.workspace import Workspace
from keepwell.web.state import server_state

PACKAGE = Path(__file__).resolve().parent.parent
#: Template folders: the app's layout first, then each slice's pages (every slice's
#: ``templates`` folder but the notification slice's, which are not pages).
TEMPLATE_DIRS = [
    PACKAGE / "web" / "templates",
    *sorted(d for d in PACKAGE.glob("*/templates") if d.parent.name not in ("web", "notify")),
]
STATIC_DIR = PACKAGE / "web" / "static"
NAV = [
    ("/", "Overview"),
    ("/accounts", "Accounts"),
    ("/my-work", "My work"),
    ("/queue", "Team queue"),
    ("/renewals", "Renewals"),
    ("/team", "Team"),
    ("/cohorts", "Cohorts"),
    ("/survival", "Survival"),
    ("/simulator", "Simulator"),
    ("/evidence", "Evidence"),
    ("/feedback", "Feedback"),
]


class LoginRequiredError(Exception):
    """The page needs a signed-in user; the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class PageUser:
    """The signed-in user of a page request, their session's CSRF token and owner scope."""

    principal: Principal
    csrf: str
    owner_scope: str | None

    @property
    def can_write(self) -> bool:
        return self.principal.can_write


def workspace_of(request: Request) -> Workspace:
    return server_state(request).workspace


def page_user(request: Request) -> PageUser:
    """The signed-in user of this page request (dependency of every page)."""
    request.state.page = True
    state = server_state(request)
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(path)
    try:
        principal = auth_service.principal_for(state.workspace, session.user_id, session.sid)
    except AuthenticationError:  # signed out elsewhere, or deactivated: sign in again
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(path) from None
    auth_service.set_actor(principal.email)
    scope = principal.owner_scope(state.settings.restrict_csm)
    request.state.principal = principal
    request.state.owner_scope = scope
    return PageUser(principal, session.csrf, scope)


def check_csrf(user: PageUser, csrf_token: str | None) -> None:
    """Refuse a form post without the session's CSRF token."""
    if not same_token(user.csrf, csrf_token):
        raise PermissionDeniedError("the form expired or was not sent by this site; reload it")


def check_form(user: PageUser, csrf_token: str | None) -> None:
    """Refuse a form post without the session's CSRF token or by a read-only user."""
    check_csrf(user, csrf_token)
    if not user.can_write:
        raise PermissionDeniedError(f"{user.principal.email} may not change records")


def today() -> date:
    """The pages' default ``as_of`` (faces may read the clock; services never do)."""
    return datetime.now(UTC).date()


def page_day(request: Request, as_of: date | None) -> date:
    """A page's day: ``as_of``, or the data's now (today, or the data's last day when
    today is past it); a later day is refused (400). The one rule of every face
    (:func:`keepwell.health.service.data_as_of`); :func:`render` shows why when the
    page fell back to the data's last day."""
    resolved = server_state(request).data_day(workspace_of(request), as_of, today())
    request.state.as_of_note = resolved.note()
    return resolved.day


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


# ---------------------------------------------------------------- formatting filters
def money(value: Any, digits: int = 0) -> str:
    """``12,345`` (no currency sign; headers name the currency); '—' when unknown."""
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}"


def compact(value: Any) -> str:
    """``1.2M``, ``340k``: short money for tiles."""
    if value is None:
        return "—"
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:,.1f}{suffix}"
    return f"{number:,.0f}"


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage; '—' when undefined."""
    return "—" if value is None else f"{float(value) * 100:.{digits}f}%"


def number(value: Any, digits: int = 0) -> str:
    return "—" if value is None else f"{float(value):,.{digits}f}"


def day(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)[:10]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def chart_json(figure: dict[str, Any]) -> str:
    """A figure as JSON safe inside ``<script type="application/json">`` (no ``<``,
    ``>`` or ``&`` left to close the element)."""
    text = json.dumps(figure, default=_json_default, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def query(request: Request, **changes: Any) -> str:
    """The current URL's query string with ``changes`` applied (None removes a key)."""
    params = dict(request.query_params.items())
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS if d.is_dir()]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    filters: dict[str, Callable[..., str]] = {
        "money": money,
        "compact": compact,
        "pct": pct,
        "number": number,
        "day": day,
        "chart_json": chart_json,
        "urlquote": lambda v: quote(str(v), safe=""),
    }
    env.filters.update(filters)
    return env


ENV = _environment()


def render_html(template: str, **context: Any) -> str:
    """Render ``template`` (autoescaped) to a string."""
    return ENV.get_template(template).render(**context)


def render(
    request: Request, user: PageUser | None, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """An HTML page: ``template`` with the layout's context (user, navigation, CSRF)."""
    page = render_html(
        template,
        request=request,
        user=user,
        nav=NAV,
        path=request.url.path,
        csrf_field=CSRF_FIELD,
        query=lambda **changes: query(request, **changes),
        as_of_note=getattr(request.state, "as_of_note", None),
        **context,
    )
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def is_page(request: Request) -> bool:
    """Whether ``request`` asked for a page (so its errors answer a page in the layout,
    never the API's JSON): a page route (the page routers are left out of the OpenAPI)
    or one whose :func:`page_user` ran, or, with no route matched, a browser asking
    for HTML outside the API's paths."""
    if getattr(request.state, "page", False):
        return True
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        return not route.include_in_schema
    api = request.url.path.startswith(("/api/", "/v1/"))
    return route is None and not api and "text/html" in request.headers.get("accept", "")


def _error_user(request: Request) -> PageUser | None:
    """The signed-in user for the error page's layout, when there is one (an error
    raised before :func:`page_user` ran, e.g. a bad parameter, still shows who is in)."""
    state = server_state(request)
    session = state.sessions.read(request.cookies.get(SESSION_COOKIE))
    principal = getattr(request.state, "principal", None)
    if principal is None and session is not None:
        try:
            principal = auth_service.principal_for(state.workspace, session.user_id, session.sid)
        except Exception:  # signed out, or the store is down: the page without a user
            return None
    if principal is None:
        return None
    return PageUser(principal, session.csrf if session else "", None)


def _error_page(request: Request, status: int, message: str, hint: str | None) -> HTMLResponse:
    error = {"message": message, "hint": hint}
    return render(request, _error_user(request), "error.html", status, code=status, error=error)


def _plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise ConfigurationError("the plotly package is not installed")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"


def install_pages(app: FastAPI, routers: list[Any]) -> None:
    """Mount static files and plotly.js, the page routers, and HTML errors for pages
    (other routes keep their JSON errors)."""
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        path = _plotly_js()
        return FileResponse(
            path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
        )

    for router in routers:
        app.include_router(router)

    json_handlers = {
        kind: app.exception_handlers[kind]
        for kind in (KeepwellError, RequestValidationError, HTTPException, Exception)
    }

    async def page_error(request: Request, exc: Exception) -> Response:
        """The API's answer (status, code, message, hint; logged alike), as a page in
        the layout when the request asked for a page."""
        kind = next(k for k in json_handlers if isinstance(exc, k))
        response = json_handlers[kind](request, exc)
        answer: Response = await response if inspect.isawaitable(response) else response
        if not is_page(request) or answer.status_code < 400:
            return answer
        error = json.loads(bytes(answer.body))["error"]
        page = _error_page(request, answer.status_code, error["message"], error.get("hint"))
        for header in ("Retry-After", "WWW-Authenticate"):
            if header in answer.headers:
                page.headers[header] = answer.headers[header]
        return page

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequiredError)
        target = "/login" if exc.next_path == "/" else f"/login?next={quote(exc.next_path)}"
        return RedirectResponse(target, status_code=303)

    for kind in json_handlers:
        app.add_exception_handler(kind, page_error)
    app.add_exception_handler(LoginRequiredError, login_required)
