"""Property-based tests of the whole OpenAPI schema: no request makes the server fail."""

from __future__ import annotations

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
EXAMPLES = 12


@dataclass
class Served:
    schema: schemathesis.BaseSchema
    token: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    workspace: Workspace = make_workspace(tmp_path / "ws")
    two_csm_book(workspace)
    health_service.compute_scores(workspace, date(2025, 6, 30))
    token = add_user(workspace, "boss@example.com", "admin")
    app = make_app(workspace)
    yield Served(schemathesis.openapi.from_asgi("/openapi.json", app), token)
    workspace.close()


def _check_operation(operation: schemathesis.APIOperation, token: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])

    run()


def test_no_request_gets_a_5xx(served: Served) -> None:
    operations = [result.ok() for result in served.schema.get_all_operations()]
    assert len(operations) > 15
    for operation in operations:
        _check_operation(operation, served.token)
