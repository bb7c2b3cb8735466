"""The process memo is dropped for one workspace once the stores change, so a page
served after an import or a cycle shows the new rows rather than the kept figures."""

from __future__ import annotations

import contextlib

from keepwell.core.memo import forget, memo
from keepwell.server.runtime import CommandRunner


def test_forget_drops_only_the_named_workspaces_values() -> None:
    ours, theirs = ("/ws/a", "sqlite:///a"), ("/ws/b", "sqlite:///b")
    calls: list[str] = []

    def compute(name: str) -> str:
        calls.append(name)
        return name

    memo(("overview", ours, None), lambda: compute("a"))
    memo(("overview", theirs, None), lambda: compute("b"))
    memo(("overview", ours, None), lambda: compute("a"))
    assert calls == ["a", "b"]
    forget(ours)
    memo(("overview", ours, None), lambda: compute("a"))
    memo(("overview", theirs, None), lambda: compute("b"))
    assert calls == ["a", "b", "a"]


def test_a_forwarded_command_that_writes_drops_what_the_pages_kept() -> None:
    changes: list[str] = []
    runner = CommandRunner(
        lambda argv: 0,
        contextlib.nullcontext(True),
        changed=lambda: changes.append("changed"),
    )
    runner.run(["export", "--to", "/tmp/x"])
    assert changes == []
    runner.run(["import", "accounts", "/tmp/a.csv"])
    runner.run(["score"])
    assert changes == ["changed", "changed"]


def test_a_value_computed_across_a_forget_is_not_kept() -> None:
    """A page computing the overview while an import lands must not keep what it read
    before the import for the next five minutes."""
    ours = ("/ws/race", "sqlite:///race")
    calls: list[int] = []

    def compute_during_an_import() -> int:
        calls.append(1)
        forget(ours)  # the import finishes while the figures are computed
        return len(calls)

    assert memo(("overview", ours), compute_during_an_import) == 1
    assert memo(("overview", ours), lambda: 2) == 2  # computed again, not the kept 1
