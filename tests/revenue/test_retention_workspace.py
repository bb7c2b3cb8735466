"""sBG from the workspace: counts of accounts still active per renewal period, per
cohort, on a hand-made book whose counts are known."""

from __future__ import annotations

from datetime import date

import pytest

from keepwell.core.errors import InputError
from keepwell.revenue.renewal_cohorts import RenewalPeriod
from keepwell.revenue.sbg import ShiftedBetaGeometric
from keepwell.revenue.service import fit_workspace_retention, retention_counts
from tests.revenue.factories import line, make_book

AS_OF = date(2025, 12, 31)  # last complete month: December 2025


@pytest.fixture(scope="module")
def book():
    def year(start: date) -> date:
        return date(start.year + 1, start.month, start.day)

    a1, a2, a3, a4 = date(2023, 1, 1), date(2023, 1, 10), date(2023, 1, 15), date(2023, 1, 20)
    b1, b2 = date(2024, 3, 1), date(2024, 3, 5)
    return make_book(
        [
            # annual cohort 2023-01: after 1 year 3 of 4 renewed, after 2 years 2
            line("a1", "a1", 100, a1, year(a1)),
            line("a1r", "a1", 110, year(a1), year(year(a1))),
            line("a1rr", "a1", 120, year(year(a1)), year(year(year(a1)))),
            line("a2", "a2", 100, a2, year(a2)),  # never renews
            line("a3", "a3", 100, a3, year(a3)),
            line("a3r", "a3", 100, year(a3), year(year(a3))),  # renews once
            line("a4", "a4", 100, a4, year(a4)),
            line("a4r", "a4", 90, year(a4), None),  # then month to month, still active
            # annual cohort 2024-03: one of two renews; the second year is not over yet
            line("b1", "b1", 100, b1, year(b1)),
            line("b2", "b2", 100, b2, year(b2)),
            line("b2r", "b2", 100, year(b2), year(year(b2))),
            # monthly cohort 2023-01: m2 is cancelled in April 2023 (no MRR at its end)
            line("m1", "m1", 10, date(2023, 1, 5), None),
            line("m2", "m2", 10, date(2023, 1, 7), date(2023, 4, 15)),
            # a three-year contract: neither annual nor monthly
            line("x", "x", 500, date(2023, 1, 1), date(2026, 1, 1)),
        ]
    )


def test_annual_counts_per_cohort(book) -> None:
    counts = retention_counts(None, AS_OF, RenewalPeriod.ANNUAL, book=book)  # type: ignore[arg-type]
    # 2023-01: periods end Jan 2023, Jan 2024, Jan 2025 (Jan 2026 is after December 2025)
    assert counts == {"2023-01": [4, 3, 2], "2024-03": [2, 1]}


def test_monthly_counts_per_cohort(book) -> None:
    counts = retention_counts(None, AS_OF, RenewalPeriod.MONTHLY, book=book)  # type: ignore[arg-type]
    assert list(counts) == ["2023-01"]
    assert counts["2023-01"] == [2, 2, 2, 1] + [1] * 32  # months 2023-01 .. 2025-12


def test_fit_of_one_cohort_is_the_fit_of_its_counts(book) -> None:
    result = fit_workspace_retention(
        None,  # type: ignore[arg-type]
        AS_OF,
        RenewalPeriod.ANNUAL,
        cohort="2023-01",
        project=5,
        book=book,
    )
    model = ShiftedBetaGeometric().fit([4, 3, 2])
    assert result["counts"] == [4, 3, 2]
    assert result["alpha"] == pytest.approx(model.alpha_)
    assert result["beta"] == pytest.approx(model.beta_)
    assert [p["actual"] for p in result["periods"]] == [4, 3, 2, None, None, None]


def test_by_cohort_and_pooled_fits(book) -> None:
    per = fit_workspace_retention(None, AS_OF, RenewalPeriod.ANNUAL, by_cohort=True, book=book)  # type: ignore[arg-type]
    assert [(f["cohort"], f["counts"]) for f in per["cohorts"]] == [
        ("2023-01", [4, 3, 2]),
        ("2024-03", [2, 1]),
    ]
    pooled = fit_workspace_retention(None, AS_OF, RenewalPeriod.ANNUAL, book=book)  # type: ignore[arg-type]
    model = ShiftedBetaGeometric().fit_cohorts([[4, 3, 2], [2, 1]])
    assert pooled["alpha"] == pytest.approx(model.alpha_)
    assert pooled["loglik"] == pytest.approx(model.loglik_)
    # the pooled log-likelihood is the sum of the cohorts' at the same parameters
    one = ShiftedBetaGeometric().fit([4, 3, 2])
    assert pooled["loglik"] <= one.loglik_ + ShiftedBetaGeometric().fit([2, 1]).loglik_ + 1e-9
    assert pooled["periods"][0]["projected"] == 6


def test_unknown_or_unobserved_cohort_is_an_input_error(book) -> None:
    with pytest.raises(InputError, match="cohort 2023-02"):
        fit_workspace_retention(None, AS_OF, RenewalPeriod.ANNUAL, cohort="2023-02", book=book)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="no account on annual renewals"):
        fit_workspace_retention(None, date(2023, 6, 30), RenewalPeriod.ANNUAL, book=book)  # type: ignore[arg-type]
