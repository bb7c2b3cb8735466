"""Reference requests with outcomes (given, declined), on the timeline and audited, and
the customer who gave references and stopped: a health measure and a rule column."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from keepwell.core.errors import InputError
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.success import service
from keepwell.success.reference_signal import stopped_giving
from tests.cli_runner import run_cli
from tests.success.company import AS_OF, OWNER_A, OWNER_B, Clock, load_company
from tests.web.helpers import add_user, client, make_app
from tests.web.pages_helpers import PASSWORD, sign_in

D = date(2025, 1, 1)
LATER = AS_OF + timedelta(days=5)

HEALTH = """
version: 1
measures:
  external: [references_stopped]
segments:
  - name: everyone
    rule: "true"
scorecards:
  default:
    groups:
      - name: lifecycle
        weight: 80
        measures:
          - {measure: tenure_days, weight: 1, red: 30, green: 365}
      - name: references
        weight: 20
        measures:
          - {measure: references_stopped, weight: 1, red: 1, green: 0}
"""

STOPPED_RULE = """\
  - name: stopped-referencing
    when: references_stopped = 1
    cta: {type: risk, priority: high, title: Stopped giving references}
"""


def test_stopped_giving_arithmetic() -> None:
    assert stopped_giving([], [D], D, 365) is None  # never gave: no data
    assert stopped_giving([D + timedelta(days=5)], [], D, 365) is None  # not yet
    assert stopped_giving([D], [], D + timedelta(days=365), 365) == 0.0
    assert stopped_giving([D], [], D + timedelta(days=366), 365) == 1.0  # window passed
    later = D + timedelta(days=30)
    assert stopped_giving([D], [later], later, 365) == 1.0  # declined after giving
    assert stopped_giving([D], [later], later - timedelta(days=1), 365) == 0.0  # not yet
    assert stopped_giving([D, later], [D + timedelta(days=10)], later, 365) == 0.0  # gave again


def _tell_story(ws: Workspace) -> tuple[int, int]:
    """A gave one reference, then declined the latest request; B gave one and is asked
    again (still open). The ids of A's declined and B's open request."""
    for account in ("A", "B"):
        service.set_referenceable(ws, account, True, on=AS_OF - timedelta(days=200))
    a1 = service.request_reference(
        ws, "A", purpose="Sales call with Initech", requested_by="ae@example.com",
        on=AS_OF - timedelta(days=100),
    )  # fmt: skip
    given = service.record_outcome(ws, a1, "given", on=AS_OF - timedelta(days=98),
                                   kind="case_study", actor="ae@example.com")  # fmt: skip
    assert (given["status"], given["answered_on"]) == ("given", AS_OF - timedelta(days=98))
    a2 = service.request_reference(ws, "A", purpose="Webinar", requested_by=None,
                                   on=AS_OF - timedelta(days=20))  # fmt: skip
    declined = service.record_outcome(ws, a2, "declined", on=AS_OF - timedelta(days=18))
    assert declined["status"] == "declined"
    b1 = service.request_reference(ws, "B", purpose="Call", requested_by=None,
                                   on=AS_OF - timedelta(days=60))  # fmt: skip
    service.record_outcome(ws, b1, "given", on=AS_OF - timedelta(days=60))
    b2 = service.request_reference(ws, "B", purpose="Logo", requested_by=None, on=AS_OF)
    return a2, b2


def test_outcomes_are_recorded_audited_and_on_the_timeline(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    a2, b2 = _tell_story(ws)
    with pytest.raises(InputError, match=f"reference request {a2} is already declined"):
        service.record_outcome(ws, a2, "given", on=AS_OF)
    with pytest.raises(InputError, match="unknown outcome 'maybe'"):
        service.record_outcome(ws, b2, "maybe", on=AS_OF)
    with pytest.raises(InputError, match="cannot be answered on 2025-07-30"):
        service.record_outcome(ws, b2, "declined", on=AS_OF - timedelta(days=1))

    history = service.account_references(ws, "A", AS_OF)
    assert [r["status"] for r in history["requests"]] == ["declined", "given"]
    assert [u["kind"] for u in history["uses"]] == ["case_study"]
    assert (history["stopped"], history["window_days"]) == (1.0, 365)
    subjects = [e["subject"] for e in service.account_timeline(ws, "A", 20, tag="reference")]
    assert subjects == ["Reference declined: Webinar", "Reference requested: Webinar",
                        "Reference given: Sales call with Initech",
                        "Reference requested: Sales call with Initech"]  # fmt: skip
    with ws.engine.connect() as conn:
        actions = (
            conn.execute(
                sa.text(
                    "SELECT action FROM audit_log WHERE account_id = 'A' AND action LIKE "
                    "'reference.%' ORDER BY entry_id"
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["reference.flag", "reference.request", "reference.use",
                       "reference.request", "reference.declined"]  # fmt: skip


def test_stopped_giving_is_a_health_measure_and_fires_a_rule(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    (ws.root / "health.yaml").write_text(HEALTH, encoding="utf-8")
    rules = (ws.root / "rules.yaml").read_text(encoding="utf-8")
    (ws.root / "rules.yaml").write_text(rules + STOPPED_RULE, encoding="utf-8")
    _tell_story(ws)

    assert service.stopped_signals(ws, AS_OF) == {"A": 1.0, "B": 0.0}
    assert service.push_stopped_measure(ws, AS_OF) == 2
    values = {h.score.account_id: h.values["references_stopped"]
              for h in health_service.assess(ws, AS_OF)}  # fmt: skip
    assert values == {"A": 1.0, "B": 0.0}
    before = service.stopped_signals(ws, AS_OF - timedelta(days=30))  # before A declined
    assert before == {"A": 0.0, "B": 0.0}

    service.run_cycle(ws, AS_OF, clock=Clock(), deliver=False)
    ctas = service.list_ctas(ws, as_of=AS_OF, status="all")
    fired = [(c["account_id"], c["title"]) for c in ctas if c["rule"] == "stopped-referencing"]
    assert fired == [("A", "Stopped giving references")]

    ws.set_setting("reference_window_days", "30")  # B gave 60 days ago: stopped too
    assert service.stopped_signals(ws, AS_OF) == {"A": 1.0, "B": 1.0}


def test_references_cli_and_http(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)
    on = ["--on", AS_OF.isoformat()]
    assert run_cli(["references", "flag", "A", *on], ws.root, capsys, monkeypatch).code == 0
    made = run_cli(["references", "request", "A", "--purpose", "Call", *on],
                   ws.root, capsys, monkeypatch)  # fmt: skip
    assert made.code == 0, made.err
    request = int(made.out.split()[2])
    given = run_cli(["references", "given", str(request), *on], ws.root, capsys, monkeypatch)
    assert given.code == 0, given.err
    assert "given" in given.out
    again = run_cli(["references", "declined", str(request), *on], ws.root, capsys, monkeypatch)
    assert again.code == 2
    assert "already given" in again.err
    listed = run_cli(["references", "requests", "--format", "json"], ws.root, capsys, monkeypatch)
    assert [r["status"] for r in json.loads(listed.out)] == ["given"]
    signal = run_cli(["references", "signal", "--on", "2026-12-01", "--store", "--format",
                      "json"], ws.root, capsys, monkeypatch)  # fmt: skip
    assert json.loads(signal.out) == [{"account_id": "A", "references_stopped": 1.0}]

    app = make_app(ws)
    ann = client(app, add_user(ws, OWNER_A, "csm"))
    bob = client(app, add_user(ws, OWNER_B, "csm"))
    reader = client(app, add_user(ws, "vera@example.com", "viewer", scope="read"))
    asked = ann.post("/api/v1/accounts/A/references/requests",
                     json={"purpose": "Case study", "on": LATER.isoformat()})  # fmt: skip
    assert asked.status_code == 201, asked.text
    body = asked.json()
    assert (body["status"], body["requested_by"]) == ("requested", OWNER_A)
    path = f"/api/v1/references/requests/{body['request_id']}/outcome"
    assert bob.post(path, json={"outcome": "declined"}).status_code == 404  # not bob's
    assert reader.post(path, json={"outcome": "declined"}).status_code == 403
    assert ann.post(path, json={"outcome": "later"}).status_code == 422
    answered = ann.post(path, json={"outcome": "declined", "on": LATER.isoformat()})
    assert answered.json()["status"] == "declined"
    shown = ann.get("/api/v1/accounts/A/references", params={"as_of": LATER.isoformat()})
    assert shown.json()["stopped"] == 1.0  # gave one, then declined the latest
    assert [r["status"] for r in shown.json()["requests"]] == ["declined", "given"]
    assert bob.get("/api/v1/accounts/A/references").status_code == 404
    add_user(ws, "page@example.com", "admin", password=PASSWORD)
    page = sign_in(app, "page@example.com").get("/accounts/A")
    assert page.status_code == 200, page.text[:500]
    card = page.text.split('id="references"')[1].split("</section>")[0]
    assert "Stopped giving references" in card
    assert "Case study" in card
    assert "declined" in card
