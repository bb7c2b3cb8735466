"""What the pages show from the risk slice: the churn model's card, an account's churn
probability and drivers, and the renewal forecast. Predictions are read as stored with
the health snapshot (``keepwell risk predict``), so pages never re-run the model; when
there is no model or no stored prediction the functions return None and the page says
the figure is not available rather than inventing one."""

from __future__ import annotations

import importlib
from decimal import Decimal
from types import ModuleType
from typing import Any

from keepwell.core.errors import KeepwellError
from keepwell.core.workspace import Workspace

#: Metrics of the model card, in display order: key, label.
CARD_METRICS = (
    ("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"), ("brier", "Brier"), ("ece", "ECE"),
    ("top_decile_lift", "Top-decile lift"), ("base_rate", "Base rate"), ("rows", "Test rows"),
)  # fmt: skip


def risk_service() -> ModuleType | None:
    """``keepwell.risk.service`` if that slice is present."""
    try:
        return importlib.import_module("keepwell.risk.service")
    except ImportError:
        return None


def model_card(workspace: Workspace) -> dict[str, Any] | None:
    """The latest churn model's card with ``metric_names`` for its table, or None when no
    model has been trained."""
    service = risk_service()
    if service is None or not hasattr(service, "model_card"):
        return None
    try:
        card: dict[str, Any] = dict(service.model_card(workspace))
    except (KeepwellError, OSError, ValueError):
        return None
    card["metric_names"] = [k for k, _ in CARD_METRICS]
    card["metric_labels"] = dict(CARD_METRICS)
    window = card.get("data_window") or {}
    card["summary"] = {
        "Algorithm": card.get("algorithm", "—"),
        "Snapshots": f"{window.get('first_snapshot', '?')} – {window.get('last_snapshot', '?')}",
        "Top features": ", ".join(str(_name(f)) for f in (card.get("top_features") or [])[:8]),
    }
    return card


def _name(feature: Any) -> Any:
    return feature.get("feature", feature) if isinstance(feature, dict) else feature


def has_model(workspace: Workspace) -> bool:
    """Whether a churn model has been trained (so a missing prediction is only missing
    for this snapshot)."""
    service = risk_service()
    return bool(service is not None and service.has_model(workspace))


def account_risk(health: dict[str, Any] | None) -> dict[str, Any] | None:
    """The churn probability (0-1), ARR at risk and drivers stored with the account's
    latest health snapshot, or None when the model has not scored it."""
    risk = (health or {}).get("risk")
    if not risk or risk.get("churn_probability") is None:
        return None
    return {
        "probability": risk["churn_probability"],
        "arr_at_risk": risk.get("arr_at_risk"),
        "drivers": risk.get("drivers") or [],
    }


def renewal_forecast(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Expected renewed ARR of upcoming renewal lines = Σ (1 − p) x ARR, p the stored
    churn probability of the line's account (``churn_probability`` on each row, set from
    the directory). Adds ``expected_arr`` to the rows that have a p; None when none has."""
    known = [r for r in rows if r.get("churn_probability") is not None]
    if not known:
        return None
    for row in known:
        row["expected_arr"] = row["arr"] * (1 - Decimal(str(row["churn_probability"])))
    expected = sum((r["expected_arr"] for r in known), Decimal(0))
    return {"lines": len(known), "of": len(rows), "expected_arr": expected}
