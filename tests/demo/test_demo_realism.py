"""The demo company behaves like a B2B SaaS book: plausible rates, and churn is foreshadowed.

Targets (documented in keepwell.demo.generator): logo churn ~10-16%/year, 20-35% of
accounts expanding in a year, ~15% of churned accounts reactivated, TTM NRR ~103-112%.
The ranges asserted here are wider, for a 300-account company.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from conftest import MONTHS, Company, month_start


def _by_account(
    company: Company, events: pa.Table, column: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """account_id -> (day index, integer code of ``column``) of the given event rows."""
    origin = np.datetime64(company.start.isoformat(), "us")
    stamps = events.column("timestamp").to_numpy().astype("datetime64[us]")
    days = ((stamps - origin) // np.timedelta64(1, "D")).astype(np.int64)
    codes = pc.dictionary_encode(events.column(column)).combine_chunks().indices.to_numpy()
    accounts = np.array(events.column("account_id").to_pylist())
    order = np.argsort(accounts, kind="stable")
    bounds = np.flatnonzero(np.r_[True, accounts[order][1:] != accounts[order][:-1], True])
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for lo, hi in itertools.pairwise(bounds):
        rows = order[lo:hi]
        out[str(accounts[rows[0]])] = (days[rows], codes[rows])
    return out


def _logins(company: Company) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """account_id -> (day index, user code) of every login row."""
    logins = company.events.filter(pc.equal(company.events.column("event"), "login"))
    return _by_account(company, logins, "user_id")


def _active_users(logins: tuple[np.ndarray, np.ndarray], lo: int, hi: int) -> int:
    days, users = logins
    return len(np.unique(users[(days >= lo) & (days < hi)]))


def _declined(company: Company, logins: dict, account: str, day: date) -> bool | None:
    """Fewer active users in the 30 days before ``day`` than in days -90..-60 (by 25%)."""
    d = (day - company.start).days
    if d < 90 or account not in logins:
        return None
    early = _active_users(logins[account], d - 90, d - 60)
    if early == 0:
        return None
    return _active_users(logins[account], d - 30, d) < 0.75 * early


def _renewals(company: Company) -> list[tuple[str, date]]:
    """(account, date) of annual-term lines renewed by a successor starting on their end."""
    starts = defaultdict(set)
    for line in company.tables["subscriptions"]:
        starts[(line["account_id"], line["product"])].add(line["starts_on"])
    out = set()
    for line in company.tables["subscriptions"]:
        if line["product"] != "Platform" or not line["ends_on"]:
            continue
        span = date.fromisoformat(line["ends_on"]) - date.fromisoformat(line["starts_on"])
        if span.days >= 300 and line["ends_on"] in starts[(line["account_id"], "Platform")]:
            out.add((line["account_id"], date.fromisoformat(line["ends_on"])))
    return sorted(out)


def test_churners_lose_active_users_before_churn_far_more_often_than_renewers(
    company: Company,
) -> None:
    logins = _logins(company)
    churns = [
        (r["account_id"], date.fromisoformat(r["churned_on"])) for r in company.truth["churn"]
    ]
    first, last = min(d for _, d in churns), max(d for _, d in churns)
    renewals = [(a, d) for a, d in _renewals(company) if first <= d <= last]
    churn_flags = [f for a, d in churns if (f := _declined(company, logins, a, d)) is not None]
    renew_flags = [f for a, d in renewals if (f := _declined(company, logins, a, d)) is not None]
    assert len(churn_flags) >= 30
    assert len(renew_flags) >= 30
    churn_rate, renew_rate = float(np.mean(churn_flags)), float(np.mean(renew_flags))
    assert churn_rate >= 0.45, churn_rate
    assert churn_rate >= renew_rate + 0.25, (churn_rate, renew_rate)
    assert churn_rate >= 2.5 * renew_rate, (churn_rate, renew_rate)
    assert churn_rate < 0.97  # some churners look healthy (exogenous churn)


def _annualised_logo_churn(mrr: np.ndarray, months: slice) -> float:
    active = mrr > 0
    churned = active[:, :-1] & ~active[:, 1:]
    rate = churned[:, months].sum() / active[:, :-1][:, months].sum()
    return float(1 - (1 - rate) ** 12)


def test_logo_churn_expansion_contraction_and_reactivation_rates(company: Company) -> None:
    mrr, t = company.mrr, MONTHS - 1
    assert 0.07 <= _annualised_logo_churn(mrr, slice(t - 24, t)) <= 0.20
    base = mrr[:, t - 12] > 0
    window = mrr[base, t - 12 : t + 1]
    both = (window[:, :-1] > 0) & (window[:, 1:] > 0)
    expanded = (both & (window[:, 1:] > window[:, :-1] + 0.005)).any(axis=1).mean()
    contracted = (both & (window[:, 1:] < window[:, :-1] - 0.005)).any(axis=1).mean()
    assert 0.15 <= expanded <= 0.40, expanded
    assert 0.03 <= contracted <= 0.22, contracted
    active = mrr > 0
    had_before = np.cumsum(active, axis=1)[:, :-1] > 0
    reactivations = (~active[:, :-1] & active[:, 1:] & had_before).sum()
    churns = (active[:, :-1] & ~active[:, 1:]).sum()
    assert churns >= 40
    assert 0.05 <= reactivations / churns <= 0.35, (reactivations, churns)


def test_net_revenue_retention_and_arr_segments(company: Company) -> None:
    """TTM NRR/GRR per metrics.md; a 300-account book is lumpy, hence wide ranges."""
    mrr, t = company.mrr, MONTHS - 1
    nrrs = []
    for end in (t - 12, t):
        base = mrr[:, end - 12] > 0
        nrrs.append(mrr[base, end].sum() / mrr[base, end - 12].sum())
        grr = np.minimum(mrr[base, end], mrr[base, end - 12]).sum() / mrr[base, end - 12].sum()
        assert 0.85 <= nrrs[-1] <= 1.35, (end, nrrs[-1])
        assert 0.80 <= grr <= 0.98, (end, grr)
    assert 0.95 <= np.mean(nrrs) <= 1.3, nrrs
    arr = 12 * mrr[:, t][mrr[:, t] > 0]
    assert (arr >= 100_000).mean() >= 0.04
    assert ((arr >= 20_000) & (arr < 100_000)).mean() >= 0.12
    assert (arr < 20_000).mean() >= 0.4


def test_small_customers_churn_more_than_larger_ones(company: Company) -> None:
    segment = {r["account_id"]: r["segment"] for r in company.truth["accounts"]}
    index = {a: i for i, a in enumerate(company.account_ids)}
    rates = {}
    for name, members in (("smb", {"smb"}), ("larger", {"mid", "ent"})):
        rows = [index[a] for a, s in segment.items() if s in members]
        rates[name] = _annualised_logo_churn(company.mrr[rows], slice(0, MONTHS - 1))
    assert rates["smb"] > 1.3 * rates["larger"], rates


def test_detractors_and_late_payments_precede_churn(company: Company) -> None:
    churns = [
        (r["account_id"], date.fromisoformat(r["churned_on"])) for r in company.truth["churn"]
    ]
    recent = {a: (d - timedelta(days=180), d) for a, d in churns}
    before, others = [], []
    for row in company.tables["surveys"]:
        if row["kind"] != "nps":
            continue
        day = date.fromisoformat(row["responded_at"][:10])
        span = recent.get(row["account_id"])
        (before if span and span[0] <= day < span[1] else others).append(int(row["score"]))
    assert len(before) >= 20
    assert np.mean(before) < np.mean(others) - 1.0
    late_before, late_other = [], []
    for row in company.tables["invoices"]:
        issued = date.fromisoformat(row["issued_on"])
        late = row["status"] == "uncollectible" or (row["paid_on"] > row["due_on"])
        span = recent.get(row["account_id"])
        (late_before if span and span[0] <= issued < span[1] else late_other).append(late)
    assert np.mean(late_before) > 1.4 * np.mean(late_other)


def test_window_covers_the_requested_months(company: Company) -> None:
    assert month_start(0) == date(2023, 4, 1)
    last = pc.max(company.events.column("timestamp")).as_py().date()
    assert date(2026, 3, 25) <= last < date(2026, 4, 1)


def _feature_use(company: Company) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """account_id -> (day index, event code) of every feature row (login excluded)."""
    features = company.events.filter(pc.not_equal(company.events.column("event"), "login"))
    return _by_account(company, features, "event")


def _narrowed(company: Company, use: dict, account: str, day: date) -> bool | None:
    """Fewer distinct features used in the 30 days before ``day`` than in days -90..-60."""
    d = (day - company.start).days
    if d < 90 or account not in use:
        return None
    days, codes = use[account]
    early = len(np.unique(codes[(days >= d - 90) & (days < d - 60)]))
    late = len(np.unique(codes[(days >= d - 30) & (days < d)]))
    return None if early == 0 else late < early


def test_feature_breadth_narrows_before_churn(company: Company) -> None:
    use = _feature_use(company)
    churns = [
        (r["account_id"], date.fromisoformat(r["churned_on"])) for r in company.truth["churn"]
    ]
    first, last = min(d for _, d in churns), max(d for _, d in churns)
    renewals = [(a, d) for a, d in _renewals(company) if first <= d <= last]
    churn_flags = [f for a, d in churns if (f := _narrowed(company, use, a, d)) is not None]
    renew_flags = [f for a, d in renewals if (f := _narrowed(company, use, a, d)) is not None]
    churn_rate, renew_rate = float(np.mean(churn_flags)), float(np.mean(renew_flags))
    assert churn_rate >= renew_rate + 0.2, (churn_rate, renew_rate)
