"""The truth folder: present, separate from the import files, and consistent with the data."""

from __future__ import annotations

from datetime import date

import numpy as np

from conftest import Company, month_start


def test_truth_lives_in_its_own_folder_never_among_the_import_files(company: Company) -> None:
    out = company.summary.out_dir
    truth = out / "truth"
    assert company.summary.truth_dir == truth
    assert {"health.csv", "churn.csv", "accounts.csv"} <= {p.name for p in truth.iterdir()}
    assert all(path.parent == out for path in company.summary.files.values())
    expected = {
        "accounts",
        "contacts",
        "subscriptions",
        "invoices",
        "tickets",
        "surveys",
        "activities",
    }
    assert set(company.summary.files) == expected | {"events"}
    assert {p.name for p in out.iterdir() if p.is_file()} == {
        path.name for path in company.summary.files.values()
    }
    assert company.summary.rows["accounts"] == len(company.tables["accounts"])
    assert company.summary.rows["events"] == company.events.num_rows


def test_truth_churns_are_the_month_end_drops_to_zero_mrr(company: Company) -> None:
    index = {a: i for i, a in enumerate(company.account_ids)}
    active = company.mrr > 0
    dropped = {
        (int(a), int(m) + 1)
        for a, m in zip(*np.nonzero(active[:, :-1] & ~active[:, 1:]), strict=True)
    }
    truth = set()
    for row in company.truth["churn"]:
        day = date.fromisoformat(row["churned_on"])
        month = (day.year - month_start(0).year) * 12 + day.month - month_start(0).month
        truth.add((index[row["account_id"]], month))
        assert row["reason"]
    assert truth == dropped


def test_truth_health_covers_customers_only(company: Company) -> None:
    prospects = {r["account_id"] for r in company.tables["accounts"] if r["is_prospect"] == "true"}
    in_health = {row["account_id"] for row in company.truth["health"]}
    assert in_health
    assert not (in_health & prospects)
    values = np.array([float(row["latent_health"]) for row in company.truth["health"]])
    assert -6 < values.min() < -1
    assert 1 < values.max() < 6
    segments = {row["segment"] for row in company.truth["accounts"]}
    assert segments == {"smb", "mid", "ent"}
