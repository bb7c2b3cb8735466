"""The client side of the process model: a ``keepwell`` command that needs the
embedded analytics store while a server owns it runs in the server instead.

DuckDB lets one process at a time open a database file, and on the embedded default
the server keeps it open. So when a server runs on the workspace (a live record in
``run/``, :mod:`keepwell.core.server_record`) and the analytics store is a DuckDB
file, the commands in :data:`FORWARDED` are sent to the server's control endpoint,
run there (same code, same output, same exit code) and printed here; ``keepwell
worker`` is refused in one line (the server runs the cycle itself). Other commands
run here as usual: those that only use the operational database (SQLite allows many
processes) work beside the server.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from keepwell.core.errors import StoreError, WorkspaceError
from keepwell.core.server_record import ServerRecord, running_servers
from keepwell.core.settings import Settings

#: The server's control endpoint (:mod:`keepwell.server.control`) and its token header.
CONTROL_PATH = "/_keepwell/cli"
TOKEN_HEADER = "X-Keepwell-Control"
#: Commands that may open the analytics store: run by the server while one runs.
FORWARDED = frozenset(
    {"score", "run", "import", "health", "risk", "export", "events", "qbr", "settings"}
)
#: Commands that make no sense beside a server, with what to do instead.
REFUSED = {
    "worker": "this workspace's server (pid {pid}, {url}) runs the cycle itself; "
    "a worker beside it is not needed",
}
#: Options whose value is a file path; made absolute, since the server's directory differs.
PATH_OPTIONS = frozenset({"--to", "--rejects", "--out", "--output"})
_FILE_SUFFIXES = frozenset(
    {".csv", ".parquet", ".jsonl", ".ndjson", ".json", ".gz", ".html", ".pdf", ".yaml", ".yml"}
)


def owning_server(settings: Settings) -> ServerRecord | None:
    """The server that owns this workspace's embedded analytics store, if one runs."""
    url = settings.analytics_url
    if url is not None and (not url.startswith("duckdb:///") or url == "duckdb:///"):
        return None  # in memory, or a warehouse: nothing to own
    root = settings.home.resolve()
    if not (root / "keepwell.yaml").exists():  # core.workspace.CONFIG_FILE; not imported:
        return None  # it loads the stores' libraries, which most commands never need
    servers = running_servers(root)
    return servers[0] if servers else None


def forward(argv: Sequence[str], settings: Settings) -> int | None:
    """Run ``keepwell ARGV`` through the owning server: its exit code, or None when
    the command runs here (no server, not a store command, or ``--help``)."""
    if not argv or argv[0] not in FORWARDED | REFUSED.keys():
        return None
    if "--help" in argv:
        return None
    server = owning_server(settings)
    if server is None:
        return None
    if argv[0] in REFUSED:
        raise WorkspaceError(
            REFUSED[argv[0]].format(pid=server.pid, url=server.url),
            hint="stop the server to run a worker, or use `keepwell run` for a cycle now",
        )
    import httpx  # here: most commands never need it

    try:
        response = httpx.post(
            server.url + CONTROL_PATH,
            json={"argv": absolute_paths(argv)},
            headers={TOKEN_HEADER: server.token},
            timeout=httpx.Timeout(10.0, read=None),
        )
    except httpx.HTTPError as exc:
        raise StoreError(
            f"the Keepwell server (pid {server.pid}) owns this workspace's analytics store "
            f"but does not answer at {server.url}: {exc}",
            hint="wait for it to finish starting, or stop it, then run the command again",
        ) from None
    if response.status_code != 200:
        raise StoreError(
            f"the Keepwell server (pid {server.pid}) at {server.url} refused the command "
            f"(HTTP {response.status_code})",
            hint="`keepwell status` shows the server; restart it if its record is stale",
        )
    result = response.json()
    sys.stdout.write(result["stdout"])
    sys.stderr.write(result["stderr"])
    return int(result["exit_code"])


def absolute_paths(argv: Sequence[str]) -> list[str]:
    """``argv`` with file paths made absolute: arguments (and values of
    :data:`PATH_OPTIONS`) that hold a ``/`` or end like a data file; table names
    (``db:TABLE``, a bare name) stay as they are."""
    out: list[str] = []
    previous = ""
    for arg in argv:
        name, eq, value = arg.partition("=")
        if eq and name in PATH_OPTIONS:
            out.append(f"{name}={_absolute(value)}")
        elif previous in PATH_OPTIONS or not arg.startswith("-"):
            out.append(_absolute(arg))
        else:
            out.append(arg)
        previous = arg
    return out


def _is_path(arg: str) -> bool:
    return "/" in arg or Path(arg).suffix.lower() in _FILE_SUFFIXES


def _absolute(value: str) -> str:
    if ":" in value.split("/", 1)[0] or not _is_path(value):
        return value  # db:TABLE, analytics:TABLE, a URL, a bare table name
    return str(Path(value).expanduser().absolute())
