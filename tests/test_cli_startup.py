"""`keepwell --help` and `--version` import no capability, and the root's list of
commands matches the commands themselves."""

from __future__ import annotations

import subprocess
import sys

import typer

from keepwell.cli import COMMANDS, load_all

HEAVY = ("pandas", "sklearn", "lightgbm", "ibis", "duckdb", "sqlalchemy", "pyarrow", "numpy",
         "pydantic_settings")  # fmt: skip


def _imported_after(args: list[str]) -> set[str]:
    probe = (
        "import sys\n"
        f"sys.argv = ['keepwell', *{args!r}]\n"
        "from keepwell.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "keepwell" in done.stdout
    return set(done.stderr.split())


def test_help_and_version_import_no_heavy_library() -> None:
    # nor the settings (pydantic-settings: a third of --version's start-up): only a
    # command can be forwarded to a server, so only a command reads them
    assert _imported_after(["--help"]) == set()
    assert _imported_after(["--version"]) == set()


def test_a_command_loads_only_its_capability() -> None:
    loaded = _imported_after(["simulate", "--help"])
    assert "lightgbm" not in loaded
    assert "sklearn" not in loaded


def test_every_command_is_listed_with_its_own_help() -> None:
    root = load_all()
    ctx = typer.Context(root)
    names = [n for n in root.list_commands(ctx) if n not in {"init", "settings"}]
    assert sorted(names) == sorted(COMMANDS), "add new top-level commands to cli.COMMANDS"
    for name in names:
        command = root.get_command(ctx, name)
        assert command is not None
        text = " ".join((command.short_help or command.help or "").split("\n\n")[0].split())
        assert COMMANDS[name][1] == text, f"cli.COMMANDS[{name!r}] differs from its help"
