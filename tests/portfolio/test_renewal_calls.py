"""The renewals page's roll-up of CSM calls beside the model (pure)."""

from __future__ import annotations

from decimal import Decimal

from keepwell.portfolio.renewals import call_rollup, with_calls


def test_calls_roll_up_beside_the_models_expected_arr() -> None:
    rows = [
        {"account_id": "A", "arr": Decimal("1000"), "expected_arr": Decimal("900")},
        {"account_id": "A", "arr": Decimal("500"), "expected_arr": None},
        {"account_id": "B", "arr": Decimal("2000"), "expected_arr": Decimal("600")},
        {"account_id": "C", "arr": Decimal("300"), "expected_arr": None},
    ]
    with_calls(rows, {"A": {"call": "commit", "reason": "signed"},
                      "B": {"call": "at_risk", "reason": "budget"}})  # fmt: skip
    assert [r["csm_call"] for r in rows] == ["commit", "commit", "at_risk", None]
    rollup = {r["call"]: r for r in call_rollup(rows)}
    assert (rollup["commit"]["arr"], rollup["commit"]["accounts"]) == (Decimal("1500"), 1)
    assert (rollup["commit"]["model_expected_arr"], rollup["commit"]["model_lines"]) == (
        Decimal("900"),
        1,
    )
    assert rollup["at_risk"]["model_expected_arr"] == Decimal("600")
    assert rollup["likely"]["arr"] == Decimal(0)
    assert rollup["likely"]["model_expected_arr"] is None
    assert rollup["no call"]["arr"] == Decimal("300")
