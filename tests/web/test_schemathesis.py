"""Property-based tests of the whole OpenAPI schema: no request makes the server fail."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from tests.conftest import make_workspace
from tests.web.helpers import add_user, make_app, two_csm_book

#: Generated requests per operation.
pytestmark = pytest.mark.slow
EXAMPLES = 12


@dataclass
class Served:
    schema: schemathesis.BaseSchema
    token: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The server over a small book, on each store backend, with an admin's token
    (PostgreSQL refuses what SQLite accepts: NUL bytes, out-of-range integers)."""
    url = str(request.getfixturevalue("postgres_url")) if request.param == "postgres" else None
    workspace: Workspace = make_workspace(tmp_path / "ws", url)
    two_csm_book(workspace)
    health_service.compute_scores(workspace, date(2025, 6, 30))
    token = add_user(workspace, "boss@example.com", "admin")
    app = make_app(workspace)
    yield Served(schemathesis.openapi.from_asgi("/openapi.json", app), token)
    workspace.close()


def _check_operation(
    operation: schemathesis.APIOperation, token: str, failures: list[str], calls: list[int]
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        calls.append(1)
        try:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
        except Exception as exc:  # the app raised: what a client would see as a 500
            failures.append(
                f"{case.method} {case.formatted_path}: {type(exc).__name__}: {exc}"[:400]
            )
            raise AssertionError(failures[-1]) from exc
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.text[:300]}")
            raise AssertionError(failures[-1])

    # recorded in failures (hypothesis may group them); go on with the other operations
    # so that one run names them all
    with contextlib.suppress(Exception):
        run()


def test_no_request_gets_a_5xx(served: Served) -> None:
    operations = [result.ok() for result in served.schema.get_all_operations()]
    assert len(operations) > 15
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations:
        _check_operation(operation, served.token, failures, calls)
    print(f"{len(calls)} requests over {len(operations)} operations")
    assert sorted(set(failures)) == []
    assert len(calls) > 5 * len(operations)
