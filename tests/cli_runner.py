"""Run the real ``keepwell`` entry point in-process, as a user would from a shell."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from keepwell.cli import main
from keepwell.core.settings import get_settings


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(
    args: list[str], home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Result:
    """``keepwell ARGS`` with ``KEEPWELL_HOME=home``: exit code, stdout and stderr."""
    monkeypatch.setenv("KEEPWELL_HOME", str(home))
    monkeypatch.setattr(sys, "argv", ["keepwell", *args])
    get_settings.cache_clear()
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        get_settings.cache_clear()
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)
