"""The web pages: sign-in, every page renders for a signed-in user, filters and CSV,
Account 360, the CSM restriction, CSRF on forms, and hostile strings escaped."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from keepwell.auth import service as auth_service
from keepwell.core.workspace import Workspace
from keepwell.portfolio.pages import bridge_chart
from keepwell.success import pages as success_pages
from keepwell.success import service as success_service
from keepwell.team import service as team_service
from tests.conftest import make_workspace
from tests.web.helpers import client, make_app
from tests.web.pages_helpers import (
    HOSTILE,
    add_person,
    csrf_of,
    page_book,
    sign_in,
)

#: The pool the default rules give the CTAs of unowned tech-touch accounts (every
#: account of this book has an owner, so the pool gets none).
DIGITAL = "digital-success@keepwell-demo.example"
PAGES = ["/", "/accounts", "/accounts/A1", "/my-work", "/renewals", "/cohorts", "/survival",
         "/simulator", "/evidence", "/feedback", "/accounts/A1/qbr"]  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """One book and one server for the module (pages only read it; CSMs restricted)."""
    ws = make_workspace(tmp_path_factory.mktemp("pages") / "ws")
    day = page_book(ws)
    success_service.run_cycle(ws, day, clock=lambda: datetime.now(UTC), deliver=False)
    success_service.create_plan(ws, "A1", as_of=day)
    for email, role in (("boss@example.com", "admin"), ("ann@example.com", "csm"),
                        ("vera@example.com", "viewer"), (DIGITAL, "csm")):  # fmt: skip
        add_person(ws, email, role)
    yield make_app(ws, restrict_csm=True)
    ws.close()


@pytest.fixture(scope="module")
def boss(app: FastAPI) -> TestClient:
    return sign_in(app, "boss@example.com")


def test_pages_send_anonymous_users_to_sign_in(app: FastAPI) -> None:
    http = client(app)
    answers = {p: http.get(p, follow_redirects=False) for p in PAGES}
    assert {
        p: (r.status_code, r.headers["location"].split("?")[0]) for p, r in answers.items()
    } == (dict.fromkeys(PAGES, (303, "/login")))


def test_wrong_password_shows_the_form_again(app: FastAPI) -> None:
    http = client(app)
    form = http.get("/login").text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    answer = http.post("/login", data={"email": "boss@example.com", "password": "nope",
                                       "csrf_token": token})  # fmt: skip
    assert (answer.status_code, "wrong email or password" in answer.text) == (401, True)


def test_every_page_renders_with_the_user_and_role(boss: TestClient) -> None:
    answers = {p: boss.get(p) for p in PAGES}
    assert {p: r.status_code for p, r in answers.items()} == dict.fromkeys(PAGES, 200)
    assert all("boss@example.com" in r.text for p, r in answers.items() if "qbr" not in p)
    assert ">admin<" in answers["/"].text


def test_overview_shows_arr_and_bands(boss: TestClient) -> None:
    page = boss.get("/").text
    assert "21.6k" in page  # ARR = 12 x (1000 + 300 + 500)
    assert 'id="bridge"' in page
    assert "kw-chart" in page


def test_accounts_filter_sort_and_search(boss: TestClient) -> None:
    by_arr = boss.get("/accounts", params={"sort": "-arr"}).text
    assert by_arr.index("Beta") < by_arr.index("Apex")
    found = boss.get("/accounts", params={"search": "ape"}).text
    assert "Apex" in found
    assert "Beta" not in found


def test_accounts_csv_exports_every_match(boss: TestClient) -> None:
    answer = boss.get("/accounts.csv", params={"owner": "ann@example.com"})
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert answer.headers["content-type"].startswith("text/csv")
    assert sorted(r["account_id"] for r in rows) == ["A1", "A2"]
    assert next(r for r in rows if r["account_id"] == "A1")["name"] == HOSTILE


def test_hostile_strings_are_escaped_everywhere(boss: TestClient) -> None:
    pages = {p: boss.get(p).text for p in ("/accounts", "/accounts/A1", "/", "/renewals",
                                            "/accounts/A1/qbr")}  # fmt: skip
    for text in pages.values():
        assert "<script>alert(" not in text
        assert "<img src=x" not in text
    assert "&lt;script&gt;alert(" in pages["/accounts/A1"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages["/accounts/A1"]


def test_account_360_warns_when_the_sponsor_left(boss: TestClient) -> None:
    page = boss.get("/accounts/A1").text
    assert "Key contact left" in page
    assert "sponsor" in page


def test_restricted_csm_sees_only_their_book(app: FastAPI) -> None:
    ann = sign_in(app, "ann@example.com")
    listing = ann.get("/accounts").text
    assert ("Apex" in listing, "Beta" in listing) == (True, False)
    assert [ann.get(p).status_code for p in ("/accounts/B1", "/accounts/B1/qbr.pdf")] == [404, 404]


def test_forms_need_the_session_csrf_token(boss: TestClient) -> None:
    answer = boss.post("/accounts/A1/notes", data={"body": "hi", "csrf_token": "forged"})
    assert answer.status_code == 403


def test_viewer_may_not_post_forms(app: FastAPI) -> None:
    vera = sign_in(app, "vera@example.com")
    page = vera.get("/accounts/A1").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    answer = vera.post("/accounts/A1/notes", data={"body": "hi", "csrf_token": token})
    assert answer.status_code == 403


def test_simulator_compares_two_companies(boss: TestClient) -> None:
    page = boss.get("/simulator", params={"a_retention": "95", "b_retention": "70"}).text
    assert "Customers kept" in page
    assert 'id="sim-arr"' in page
    assert "Value: discounted cash flows of the customers" in page
    assert "A +2 pt" in page


def test_plotly_is_served_locally(boss: TestClient) -> None:
    answer = boss.get("/assets/plotly.min.js")
    assert answer.status_code == 200
    assert len(answer.content) > 1_000_000
    assert "cdn" not in boss.get("/").text.lower()


def test_a_note_added_on_account_360_shows_escaped_on_the_timeline(boss: TestClient) -> None:
    page = boss.get("/accounts/A1").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"body": "<i>renewal</i> call", "csrf_token": token}
    answer = boss.post("/accounts/A1/notes", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert "&lt;i&gt;renewal&lt;/i&gt; call" in boss.get("/accounts/A1").text


def _ctas_of(app: FastAPI, owner: str) -> list[dict[str, object]]:
    ws = app.state.workspace
    return [c for c in success_service.list_ctas(ws, as_of=datetime.now(UTC).date())
            if c["owner"] == owner]  # fmt: skip


def test_my_work_lists_the_users_ctas_and_tasks_by_stake(app: FastAPI) -> None:
    """Before: the CTAs of owned tech-touch accounts went to the pool's My work."""
    mine = _ctas_of(app, "ann@example.com")
    assert mine
    page = sign_in(app, "ann@example.com").get("/my-work").text
    assert page.count('data-action="open"') == len(mine)
    assert "Sponsor or champion left" in page
    assert 'data-action="open"' not in sign_in(app, DIGITAL).get("/my-work").text
    rows = page.split('data-kind="cta"')[1:]
    shown = [int(r.split('data-cta="')[1].split('"')[0]) for r in rows]
    stakes = {c["cta_id"]: c["stake"] for c in mine}
    assert [stakes[i] for i in shown] == sorted(stakes.values(), reverse=True)


def test_closing_a_cta_needs_an_outcome_of_its_type_and_a_confirmation(app: FastAPI) -> None:
    boss = sign_in(app, "boss@example.com")
    (cta, *_) = [c for c in _ctas_of(app, "ann@example.com") if c["account_id"] == "A2"]
    page = boss.get(f"/ctas/{cta['cta_id']}").text
    for key in cta["outcomes"]:  # type: ignore[attr-defined]
        assert f'<option value="{key}">' in page
    form = {"csrf_token": csrf_of(page), "outcome": "resolved", "comment": "done"}
    refused = boss.post(f"/ctas/{cta['cta_id']}/close", data=form)
    assert (refused.status_code, "needs confirming" in refused.text) == (400, True)
    wrong = boss.post(f"/ctas/{cta['cta_id']}/close", data={**form, "confirm": "yes"})
    assert (wrong.status_code, "is not an outcome" in wrong.text) == (400, True)
    outcome = next(iter(cta["outcomes"]))  # type: ignore[call-overload]
    answer = boss.post(f"/ctas/{cta['cta_id']}/close", follow_redirects=False,
                       data={**form, "outcome": outcome, "confirm": "yes"})  # fmt: skip
    assert (answer.status_code, answer.headers["location"]) == (303, f"/ctas/{cta['cta_id']}")
    closed = success_service.cta_detail(app.state.workspace, int(cta["cta_id"]),  # type: ignore[call-overload]
                                        as_of=datetime.now(UTC).date())  # fmt: skip
    assert (closed["status"], closed["outcome"], closed["close_reason"]) == (
        "closed",
        outcome,
        "done",
    )


def test_a_restricted_csm_cannot_act_on_another_books_cta(app: FastAPI) -> None:
    (other, *_) = _ctas_of(app, "bob@example.com")
    ann = sign_in(app, "ann@example.com")
    form = {"csrf_token": csrf_of(ann.get("/accounts/A1").text), "outcome": "saved",
            "comment": "x", "confirm": "yes"}  # fmt: skip
    assert ann.post(f"/ctas/{other['cta_id']}/close", data=form).status_code == 404
    assert ann.get(f"/ctas/{other['cta_id']}").status_code == 404
    reassign = {"csrf_token": form["csrf_token"], "owner": "ann@example.com"}
    assert ann.post(f"/ctas/{other['cta_id']}/reassign", data=reassign).status_code == 404


def test_team_queue_for_managers_and_admins_a_restricted_csm_sees_their_book(
    app: FastAPI,
) -> None:
    """Before: no page listed the team's open CTAs; admins saw "Nothing open."."""
    everyone = success_service.list_ctas(app.state.workspace, as_of=datetime.now(UTC).date())
    boss = sign_in(app, "boss@example.com").get("/queue").text
    assert boss.count('data-action="open"') == len(everyone)
    assert 'id="bulk"' in boss
    ann = sign_in(app, "ann@example.com").get("/queue").text
    assert ann.count('data-action="open"') == len(_ctas_of(app, "ann@example.com"))
    assert "Beta" not in ann
    assert 'id="bulk"' not in ann
    filtered = sign_in(app, "boss@example.com").get("/queue?owner=bob%40example.com").text
    assert filtered.count('data-action="open"') == len(_ctas_of(app, "bob@example.com"))


def test_the_team_queue_filters_by_team(app: FastAPI) -> None:
    """Before: the queue could not filter by team (the team model came in parallel)."""
    team_service.add_team(app.state.workspace, "north", "North team")
    team_service.add_csm(app.state.workspace, "bob@example.com", "north")
    boss = sign_in(app, "boss@example.com")
    page = boss.get("/queue?team=north").text
    assert page.count('data-action="open"') == len(_ctas_of(app, "bob@example.com")) > 0
    assert '<option value="north" selected>North team</option>' in page
    unknown = boss.get("/queue?team=nowhere")
    assert unknown.status_code == 400
    assert "no team" in unknown.text


def test_the_team_queue_pages_its_ctas(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of QUEUE_PAGE CTAs with their tasks; the pages together list every CTA once."""
    monkeypatch.setattr(success_pages, "QUEUE_PAGE", 2)
    everyone = success_service.list_ctas(app.state.workspace, as_of=datetime.now(UTC).date())
    boss = sign_in(app, "boss@example.com")
    pages = -(-len(everyone) // 2)
    assert pages > 1
    shown = []
    for page in range(1, pages + 1):
        text = boss.get(f"/queue?page={page}").text
        assert text.count('data-action="open"') <= 2
        assert ("Next →" in text) == (page < pages)
        shown += [int(r.split('"')[0]) for r in text.split('data-kind="cta" data-cta="')[1:]]
    assert sorted(shown) == sorted(c["cta_id"] for c in everyone)


def test_bulk_reassign_is_for_managers_and_moves_the_ctas(app: FastAPI) -> None:
    bobs = [c["cta_id"] for c in _ctas_of(app, "bob@example.com")]
    ann = sign_in(app, "ann@example.com")
    token = csrf_of(ann.get("/queue").text)
    form = {"csrf_token": token, "owner": "ann@example.com", "cta_ids": [str(i) for i in bobs]}
    assert ann.post("/queue/reassign", data=form).status_code == 403
    boss = sign_in(app, "boss@example.com")
    form["csrf_token"] = csrf_of(boss.get("/queue").text)
    form["owner"] = "carl@example.com"
    answer = boss.post("/queue/reassign", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert _ctas_of(app, "bob@example.com") == []
    assert {c["cta_id"] for c in _ctas_of(app, "carl@example.com")} == set(bobs)
    back = {**form, "owner": "bob@example.com"}
    assert boss.post("/queue/reassign", data=back, follow_redirects=False).status_code == 303


def test_bridge_steps_add_up_to_the_ending_mrr() -> None:
    month = {"month": "2026-01", "starting_mrr": 100, "new": 10, "reactivation": 0,
             "expansion": 5, "contraction": -3, "churn": -20, "ending_mrr": 92}  # fmt: skip
    steps = bridge_chart(month)["figure"]["data"][0]
    assert steps["y"][0] + sum(steps["y"][1:-1]) == steps["y"][-1]


def test_account_360_shows_the_success_plan(boss: TestClient) -> None:
    page = boss.get("/accounts/A1").text
    assert "No success plan" not in page
    assert "progress" in page


def test_feedback_board_shows_requests_with_their_accounts(app: FastAPI) -> None:
    board = sign_in(app, "boss@example.com").get("/feedback").text
    assert "Export to &lt;b&gt;Excel&lt;/b&gt;" in board
    assert "Beta" in board
    assert "Excel" not in sign_in(app, "ann@example.com").get("/feedback").text


def test_the_back_test_runs_in_the_background_from_the_evidence_page(boss: TestClient) -> None:
    token = csrf_of(boss.get("/evidence").text)
    answer = boss.post("/evidence/backtest", data={"csrf_token": token}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/evidence")
    deadline = time.monotonic() + 60
    page = boss.get("/evidence").text
    while "reloads every 5 seconds" in page and time.monotonic() < deadline:
        time.sleep(0.5)
        page = boss.get("/evidence").text
    assert "reloads every 5 seconds" not in page
    assert "Observations" in page or 'role="alert"' in page


def test_a_viewer_cannot_start_the_back_test(app: FastAPI) -> None:
    """Before: any signed-in user could start minutes of CPU work with the form."""
    vera = sign_in(app, "vera@example.com")
    token = csrf_of(vera.get("/evidence").text)
    answer = vera.post("/evidence/backtest", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 403
    assert "may not change records" in answer.text


def test_key_pages_render_on_both_stores(workspace: Workspace) -> None:
    page_book(workspace)
    add_person(workspace, "boss@example.com", "admin")
    http = sign_in(make_app(workspace), "boss@example.com")
    paths = ["/", "/accounts?sort=-arr&band=red", "/accounts/A1", "/renewals", "/accounts/A1/qbr"]
    assert {p: http.get(p).status_code for p in paths} == dict.fromkeys(paths, 200)
    assert http.get("/accounts/A1/qbr.pdf").content.startswith(b"%PDF")


def test_saved_views_on_the_accounts_list_are_each_users_own(app: FastAPI) -> None:
    """Before: filters had to be set again on every visit; no churn-risk column."""
    ann = sign_in(app, "ann@example.com")
    page = ann.get("/accounts?band=red&sort=-churn&page=2").text
    assert "Churn risk" in page
    form = {
        "csrf_token": csrf_of(page),
        "name": "Red by churn",
        "query": "band=red&sort=-churn&page=2",
    }
    answer = ann.post("/accounts/views", data=form, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/accounts?band=red&sort=-churn&page=2",
    )
    listed = ann.get("/accounts").text
    assert 'href="/accounts?band=red&amp;sort=-churn" data-view="Red by churn"' in listed
    assert 'data-view="Red by churn"' not in sign_in(app, "boss@example.com").get("/accounts").text
    (view,) = auth_service.saved_views(app.state.workspace, "ann@example.com", "accounts")
    boss = sign_in(app, "boss@example.com")
    token = csrf_of(boss.get("/accounts").text)
    refused = boss.post(f"/accounts/views/{view['view_id']}/delete", data={"csrf_token": token})
    assert refused.status_code == 404
    gone = ann.post(f"/accounts/views/{view['view_id']}/delete",
                    data={"csrf_token": csrf_of(listed)}, follow_redirects=False)  # fmt: skip
    assert gone.status_code == 303
    assert auth_service.saved_views(app.state.workspace, "ann@example.com", "accounts") == []


def test_a_viewer_cannot_close_reassign_or_edit(app: FastAPI) -> None:
    vera = sign_in(app, "vera@example.com")
    (cta, *_) = success_service.list_ctas(app.state.workspace, as_of=datetime.now(UTC).date())
    page = vera.get(f"/ctas/{cta['cta_id']}").text
    assert 'id="close-form"' not in page
    token = csrf_of(page)
    posts = {
        f"/ctas/{cta['cta_id']}/close": {"outcome": "saved", "comment": "x", "confirm": "yes"},
        f"/ctas/{cta['cta_id']}/reassign": {"owner": "vera@example.com"},
        "/accounts/A1/renewal-call": {"call": "commit", "reason": "x"},
        "/accounts/A1/contacts/c1": {"role": "user"},
    }
    for path, form in posts.items():
        assert vera.post(path, data={**form, "csrf_token": token}).status_code == 403, path
