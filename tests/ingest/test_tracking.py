"""The Segment-compatible tracking API over HTTP: auth, calls, dedup, limits, saturation."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from keepwell.contract.queries import account_usage, event_count
from keepwell.core.workspace import Workspace
from keepwell.ingest import service
from keepwell.ingest.errors import SaturatedError
from keepwell.ingest.writer import EventWriter
from tests.web.helpers import NOW, client, make_app


def _tracking(workspace: Workspace, **settings: Any) -> TestClient:
    key = service.add_source(workspace, "web", now=NOW, actor="test")
    http = client(make_app(workspace, **settings))
    http.headers["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    return http


def _track(user: str, mid: str, event: str = "login", **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": user, "event": event, "messageId": mid,
            "timestamp": "2026-02-01T10:00:00Z", **extra}  # fmt: skip


def test_group_then_track_lands_on_the_account(workspace: Workspace) -> None:
    http = _tracking(workspace)
    http.post("/v1/identify", json={"userId": "u1", "traits": {"email": "u1@acme.test"}})
    http.post("/v1/group", json={"userId": "u1", "groupId": "A1"})
    response = http.post("/v1/track", json=_track("u1", "m1"))
    assert response.json() == {"success": True}
    usage = account_usage(workspace.analytics(), "A1")
    assert [(str(r["day"]), r["event"], r["count"]) for r in usage] == [("2026-02-01", "login", 1)]


def test_context_group_id_names_the_account(sqlite_workspace: Workspace) -> None:
    http = _tracking(sqlite_workspace)
    http.post("/v1/track", json=_track("u9", "m1", context={"groupId": "B7"}))
    assert event_count(sqlite_workspace.analytics(), "B7") == 1


def test_message_id_deduplicates_across_requests(workspace: Workspace) -> None:
    http = _tracking(workspace)
    batch = {"batch": [_track("u1", "m1", context={"groupId": "A1"})] * 3}
    http.post("/v1/batch", json=batch)
    http.post("/v1/batch", json=batch)
    assert event_count(workspace.analytics(), "A1") == 1


def test_events_before_group_are_kept_and_moved(workspace: Workspace) -> None:
    http = _tracking(workspace)
    http.post("/v1/batch", json={"batch": [_track("u2", "e1"), _track("u2", "e2")]})
    before = event_count(workspace.analytics())
    http.post("/v1/group", json={"userId": "u2", "groupId": "A2"})
    assert (before, event_count(workspace.analytics(), "A2")) == (0, 2)


def test_page_calls_are_events_named_page(sqlite_workspace: Workspace) -> None:
    http = _tracking(sqlite_workspace)
    http.post("/v1/page", json={"userId": "u", "name": "Home", "context": {"groupId": "A"}})
    usage = account_usage(sqlite_workspace.analytics(), "A")
    assert [r["event"] for r in usage] == ["page"]


def test_gzip_bodies_are_accepted(sqlite_workspace: Workspace) -> None:
    http = _tracking(sqlite_workspace)
    body = gzip.compress(
        json.dumps({"batch": [_track("u", "g1", context={"groupId": "A"})]}).encode()
    )
    response = http.post(
        "/v1/batch", content=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 200
    hidden = gzip.compress(
        json.dumps({"batch": [_track("u", "g2", context={"groupId": "A\u0000B"})]}).encode()
    )
    refused = http.post(
        "/v1/batch", content=hidden,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )  # fmt: skip
    assert refused.status_code == 400
    assert "NUL" in refused.text


def test_wrong_write_key_is_a_401(sqlite_workspace: Workspace) -> None:
    http = _tracking(sqlite_workspace)
    http.headers["Authorization"] = "Basic " + base64.b64encode(b"nope:").decode()
    response = http.post("/v1/track", json=_track("u", "m"))
    assert (response.status_code, response.headers["www-authenticate"]) == (
        401,
        'Basic realm="keepwell"',
    )


def test_missing_credentials_are_a_401(sqlite_workspace: Workspace) -> None:
    http = client(make_app(sqlite_workspace))
    assert http.post("/v1/batch", json={"batch": []}).status_code == 401


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"batch": [{"type": "track", "userId": "u"}]}, "batch[0].event is required"),
        ({"batch": [{"type": "track", "event": "x"}]}, "userId or anonymousId is required"),
        ({"batch": [{"type": "group", "userId": "u"}]}, "batch[0].groupId is required"),
        ({"batch": [{"type": "explode", "userId": "u"}]}, "batch[0].type 'explode'"),
        ({"batch": [_track("u", "m", timestamp="yesterday")]}, "is not an ISO 8601 time"),
        ({"batch": [_track("u", "m", properties=[1])]}, "batch[0].properties must be an object"),
        ({"events": []}, '"batch" array'),
    ],
)
def test_malformed_payloads_are_a_400_naming_the_problem(
    sqlite_workspace: Workspace, body: dict[str, Any], problem: str
) -> None:
    response = _tracking(sqlite_workspace).post("/v1/batch", json=body)
    assert response.status_code == 400
    assert problem in response.json()["error"]["message"]


def test_invalid_json_is_a_400(sqlite_workspace: Workspace) -> None:
    response = _tracking(sqlite_workspace).post("/v1/track", content=b"{not json")
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_bad_message_stores_nothing_of_its_batch(sqlite_workspace: Workspace) -> None:
    http = _tracking(sqlite_workspace)
    good = _track("u", "ok", context={"groupId": "A"})
    http.post("/v1/batch", json={"batch": [good, {"type": "track", "userId": "u"}]})
    assert event_count(sqlite_workspace.analytics()) == 0


def test_batch_over_500_kb_is_a_413(sqlite_workspace: Workspace) -> None:
    filler = "x" * 20_000
    batch = [_track("u", f"m{i}", properties={"f": filler}) for i in range(30)]
    response = _tracking(sqlite_workspace).post("/v1/batch", json={"batch": batch})
    assert response.status_code == 413


def test_message_over_32_kb_is_a_413_naming_it(sqlite_workspace: Workspace) -> None:
    batch = [_track("u", "small"), _track("u", "big", properties={"f": "x" * 40_000})]
    response = _tracking(sqlite_workspace).post("/v1/batch", json={"batch": batch})
    assert (response.status_code, "batch[1]" in response.json()["error"]["message"]) == (413, True)


def test_hostile_strings_are_stored_intact(sqlite_workspace: Workspace) -> None:
    hostile = "<script>alert(1)</script>'; DROP TABLE events; --\u202e\U0001f600"
    http = _tracking(sqlite_workspace)
    http.post("/v1/track", json=_track(hostile, "h1", event=hostile, context={"groupId": "A"}))
    row = sqlite_workspace.analytics().events().to_pyarrow().to_pylist()[0]
    assert (row["user_id"], row["event"]) == (hostile, hostile)


def test_saturated_writer_refuses_instead_of_dropping(sqlite_workspace: Workspace) -> None:
    writer = EventWriter(sqlite_workspace.analytics, max_pending=1)
    batch = pa.Table.from_pylist(
        [{"timestamp": None, "account_id": "A", "user_id": "u", "event": "e", "count": 1,
          "message_id": "m", "properties": None}]
    )  # fmt: skip
    writer.lock.acquire()  # a long write in progress
    try:
        writer.submit(batch)  # taken by the writer thread, which waits for the lock
        threading.Event().wait(0.2)
        writer.submit(batch)  # waits in the queue
        with pytest.raises(SaturatedError):
            writer.submit(batch)
    finally:
        writer.lock.release()
        writer.close()


def test_saturation_is_a_503_with_retry_after(sqlite_workspace: Workspace) -> None:
    http = _tracking(sqlite_workspace, ingest_queue=1)
    state = http.app.state.keepwell  # type: ignore[attr-defined]
    state.analytics_lock.acquire()
    results: list[int] = []
    try:
        threads = [
            threading.Thread(
                target=lambda i=i: results.append(
                    http.post(
                        "/v1/track", json=_track("u", f"s{i}", context={"groupId": "A"})
                    ).status_code
                )
            )
            for i in range(4)
        ]
        for t in threads:
            t.start()
        threading.Event().wait(1.0)
    finally:
        state.analytics_lock.release()
    for t in threads:
        t.join()
    assert 503 in results
    assert event_count(sqlite_workspace.analytics()) == results.count(200)
