"""Synthetic feature rows with a known churn signal, for the model tests."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from keepwell.core import periods
from keepwell.risk.features import shift_months

START = date(2023, 1, 31)


def month_ends(n: int, start: date = START) -> list[date]:
    """``n`` consecutive month ends from ``start``."""
    return [periods.month_end(shift_months(start, k)) for k in range(n)]


def signal_rows(accounts: int, months: int, seed: int = 0) -> pd.DataFrame:
    """Rows (account x month end) where churn depends on ``usage_drop`` only:
    P(label) = sigmoid(-3 + 2.5 x usage_drop); ``noise_*`` carry nothing; ``industry`` is
    text noise; ``health_score`` is a weak, noisy view of the same signal."""
    rng = np.random.default_rng(seed)
    days = month_ends(months)
    n = accounts * months
    drop = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-3 + 2.5 * drop)))
    label = (rng.random(n) < p).astype(float)
    return pd.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(accounts) for _ in range(months)],
            "snapshot": [d for _ in range(accounts) for d in days],
            "usage_drop": drop,
            "noise_1": rng.normal(size=n),
            "noise_2": rng.normal(size=n),
            "industry": rng.choice(["Retail", "Software", "Health"], size=n),
            "health_score": 50 - 10 * drop + rng.normal(scale=25, size=n),
            "label": label,
            "churned": label,
        }
    )
