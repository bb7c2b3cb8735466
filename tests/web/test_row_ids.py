"""Row ids beyond what an id column holds are invalid input (422), not a driver overflow
(500): found by the schemathesis run on DELETE /api/v1/tokens/{id} (SQLite overflows
past 2**63, PostgreSQL's INTEGER past 2**31)."""

from __future__ import annotations

import pytest

from keepwell.core.ids import MAX_ID
from keepwell.core.workspace import Workspace
from tests.web.helpers import add_user, client, make_app

TOO_BIG = str(MAX_ID + 1)
ROUTES = [
    ("delete", f"/api/v1/tokens/{TOO_BIG}"),
    ("get", f"/api/v1/ctas/{TOO_BIG}"),
    ("post", f"/api/v1/tasks/{TOO_BIG}/complete"),
    ("delete", "/api/v1/tokens/0"),
    ("delete", f"/api/v1/tokens/{2**63}"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_id_out_of_range_is_refused_as_invalid(
    workspace: Workspace, method: str, path: str
) -> None:
    admin = client(make_app(workspace), add_user(workspace, "admin@example.com", "admin"))
    answer = admin.request(method.upper(), path)
    assert answer.status_code == 422, answer.text


def test_the_largest_id_is_valid_and_simply_not_found(workspace: Workspace) -> None:
    admin = client(make_app(workspace), add_user(workspace, "admin@example.com", "admin"))
    assert admin.delete(f"/api/v1/tokens/{MAX_ID}").status_code == 404
