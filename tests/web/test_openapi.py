"""The OpenAPI describes what the server answers: every success body has a typed schema,
every error a route can give is documented with the one error body, and the bodies the
routes send match their schemas (nothing the services return is dropped on the way)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from keepwell.contract import queries
from keepwell.contract.api_schemas import AccountDetailRead, UsageRead
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.health.api_schemas import HealthExplanationRead, ScorePointRead
from keepwell.health.history import score_history
from keepwell.revenue import service as revenue_service
from keepwell.revenue.api import CohortCellRead, MovementRead, SummaryRead
from keepwell.success import service as success_service
from keepwell.success.api import CtaDetailRead, CtaRead, PlanRead
from tests.conftest import make_workspace
from tests.success.company import AS_OF, Clock, load_company
from tests.web.helpers import add_user, client, make_app

#: Free-form JSON objects, by property name, with why they have no fixed shape.
FREE_FORM = {
    "attributes": "the custom columns of a contract entity, whatever the data holds",
    "trigger_values": "the inputs of the rule that opened a CTA, whatever the rule uses",
    "details": "what an audited write changed, which differs by action",
}
#: Error statuses answered with a body other than the error body, with why.
OTHER_ERROR_BODIES = {
    ("/readyz", "503"): "not ready is the probe's answer: the same Readiness body as 200",
}
#: Generated requests per operation in the conformance walk.
EXAMPLES = 6
SIGNED_IN_PREFIX = "/api/"


@dataclass
class Served:
    app: FastAPI
    spec: dict[str, Any]
    workspace: Workspace
    admin: str
    reader: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("openapi")
    workspace = make_workspace(root / "ws")
    load_company(workspace, root)
    success_service.run_cycle(workspace, AS_OF, clock=Clock(), deliver=False)
    health_service.compute_scores(workspace, AS_OF)
    success_service.create_plan(workspace, "A", as_of=AS_OF)
    admin = add_user(workspace, "boss@example.com", "admin")
    reader = add_user(workspace, "vera@example.com", "viewer", scope="read")
    app = make_app(workspace)
    yield Served(app, app.openapi(), workspace, admin, reader)
    workspace.close()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _untyped(spec: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """Where ``schema`` (recursively) leaves a body or a part of it without a type: an
    empty schema, or an object that names no properties (except :data:`FREE_FORM`)."""
    schema = _resolve(spec, schema)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return [p for part in schema[key] for p in _untyped(spec, part, where)]
    if not schema or ("type" not in schema and "const" not in schema and "enum" not in schema):
        return [f"{where}: no type"]
    if schema.get("type") == "array":
        return _untyped(spec, schema.get("items", {}), f"{where}[]")
    if schema.get("type") != "object":
        return []
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    if properties:
        return [
            p
            for name, part in properties.items()
            if name not in FREE_FORM
            for p in _untyped(spec, part, f"{where}.{name}")
        ]
    if isinstance(extra, dict) and extra:
        return _untyped(spec, extra, f"{where}{{}}")
    return [f"{where}: an object without properties"]


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_untyped_detects_what_it_should() -> None:
    spec: dict[str, Any] = {"components": {"schemas": {}}}
    assert _untyped(spec, {}, "body")
    assert _untyped(spec, {"type": "object", "additionalProperties": True}, "body")
    assert _untyped(spec, {"type": "array", "items": {}}, "body")
    typed = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert not _untyped(spec, typed, "body")
    assert _untyped(spec, {"type": "object", "properties": {"a": {}}}, "body")


def test_every_success_body_has_a_typed_schema(served: Served) -> None:
    problems = []
    for method, path, operation in _operations(served.spec):
        successes = {k: v for k, v in operation["responses"].items() if k.startswith("2")}
        assert successes, f"{method} {path} documents no success answer"
        for status, response in successes.items():
            content = response.get("content")
            if status == "204":
                assert not content, f"{method} {path} 204 documents a body"
                continue
            if not content:
                problems.append(f"{method} {path} {status}: no body schema")
                continue
            for media, body in content.items():
                where = f"{method} {path} {status} {media}"
                problems += _untyped(served.spec, body.get("schema", {}), where)
    assert not problems, "\n".join(problems)


def test_every_documented_error_has_the_error_body(served: Served) -> None:
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    assert "HTTPValidationError" not in served.spec["components"]["schemas"]
    for method, path, operation in _operations(served.spec):
        responses = operation["responses"]
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                json_body = response.get("content", {}).get("application/json")
                html = "text/html" in response.get("content", {})
                other = (path, status) in OTHER_ERROR_BODIES
                assert html or other or json_body == {"schema": error}, (method, path, status)
        if path.startswith(SIGNED_IN_PREFIX):
            assert {"401", "403"} <= set(responses), f"{method} {path}: 401/403 undocumented"
        if operation.get("parameters") or operation.get("requestBody"):
            public_raw_body = path.startswith(("/v1/", "/webhooks/"))
            assert public_raw_body or "422" in responses, f"{method} {path}: 422 undocumented"


def _known_ids(served: Served) -> dict[str, str]:
    ws = served.workspace
    cta = success_service.list_ctas(ws, as_of=AS_OF, status="all")[0]["cta_id"]
    detail = success_service.cta_detail(ws, cta, as_of=AS_OF)
    plan = success_service.show_plan(ws, "A", AS_OF)
    return {
        "account_id": "A",
        "cta_id": str(cta),
        "task_id": str(detail["tasks"][0]["task_id"]),
        "milestone_id": str(plan["milestones"][0]["milestone_id"]),
        "objective_id": str(plan["objectives"][0]["objective_id"]),
    }


def test_read_bodies_match_their_schemas(served: Served) -> None:
    """Every GET with real ids answers 200 (or a documented status) with a body that
    matches its schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", served.app)
    ids = _known_ids(served)
    seen = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        names = [p.name for p in operation.path_parameters]
        if any(name not in ids for name in names):
            continue
        case = operation.Case(path_parameters={n: ids[n] for n in names})
        response = case.call(headers={"Authorization": f"Bearer {served.admin}"})
        case.validate_response(
            response, checks=[not_a_server_error, status_code_conformance,
                              response_schema_conformance]
        )  # fmt: skip
        seen += response.status_code == 200
    assert seen >= 12


@pytest.mark.slow
def test_generated_requests_get_documented_answers(served: Served) -> None:
    """Generated requests (valid and not) to every operation, signed in, read-only and
    anonymous: every status is documented and every body matches its schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", served.app)
    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            for headers in (
                {"Authorization": f"Bearer {served.admin}"},
                {"Authorization": f"Bearer {served.reader}"},
                {},
            ):
                case.validate_response(case.call(headers=headers), checks=checks)

        run()


def _strict(model: type[BaseModel], data: Any) -> None:
    """``data`` fits ``model`` with no key left over (a response model would drop it)."""
    if isinstance(data, list):
        for item in data:
            model.model_validate(item, extra="forbid")
    else:
        model.model_validate(data, extra="forbid")


def test_response_models_drop_nothing_the_services_return(served: Served) -> None:
    ws = served.workspace
    _strict(SummaryRead, revenue_service.portfolio_summary(ws, AS_OF).as_dict())
    movements = revenue_service.mrr_movements(ws, AS_OF.replace(month=1), AS_OF)
    _strict(MovementRead, revenue_service.mark_partial_months(movements, AS_OF))  # as the route
    _strict(CohortCellRead, revenue_service.cohort_retention(ws, AS_OF))
    _strict(HealthExplanationRead, health_service.explain_account(ws, "A"))
    _strict(ScorePointRead, score_history(ws, "A"))
    _strict(AccountDetailRead, queries.account_detail(ws, "A", scope=None))
    _strict(UsageRead, queries.account_usage(ws.analytics(), "A"))
    ctas = success_service.list_ctas(ws, as_of=AS_OF, status="all")
    assert ctas
    _strict(CtaRead, ctas)
    _strict(CtaDetailRead, [success_service.cta_detail(ws, c["cta_id"], as_of=AS_OF) for c in ctas])
    _strict(PlanRead, success_service.show_plan(ws, "A", AS_OF))
    assert queries.account_usage(ws.analytics(), "A")


def test_a_changed_service_shape_is_caught() -> None:
    """The strict check fails on a key the model does not know (what a response model
    would silently drop)."""
    row = {
        "group": "all", "cohort": "2025-01", "age": 0, "cohort_accounts": 1, "accounts": 1,
        "logo_retention": 1.0, "cohort_mrr": "1", "mrr": "1", "revenue_retention": 1.0,
    }  # fmt: skip
    _strict(CohortCellRead, row)
    with pytest.raises(ValueError, match="extra"):
        _strict(CohortCellRead, {**row, "new_figure": 2})


def test_tracking_api_lists_required_fields(served: Served) -> None:
    paths = served.spec["paths"]

    def body(path: str) -> dict[str, Any]:
        content = paths[path]["post"]["requestBody"]["content"]["application/json"]
        return _resolve(served.spec, content["schema"])

    item = body("/v1/batch")["properties"]["batch"]["items"]
    assert body("/v1/batch")["required"] == ["batch"]
    assert item["required"] == ["type"]
    assert {"required": ["userId"]} in item["anyOf"]
    assert body("/v1/track")["required"] == ["event"]
    assert body("/v1/group")["required"] == ["groupId"]
    assert {"required": ["anonymousId"]} in body("/v1/identify")["anyOf"]


def test_tracking_answers_with_its_schema(served: Served) -> None:
    anonymous = client(served.app)
    response = anonymous.post("/v1/track", json={"userId": "u", "event": "e"})
    assert response.status_code == 401
    assert set(response.json()["error"]) >= {"code", "message"}
