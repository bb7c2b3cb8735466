"""How the demo's CSMs closed their CTAs (pure): each CTA's outcome follows what the
company's data says happened to the account after the CTA opened, with some noise, so
that playbook effectiveness has real outcomes to count.

A renewal CTA closes as the renewal went (churned, renewed with contraction, renewed;
not needed when no renewal came within the window); a risk CTA as churned when the
account churned within the window, else saved (or, one in five, not a risk); an
opportunity as won when the account expanded, lost when it churned, else lost or not
needed; a lifecycle CTA as done (or, one in ten, not needed).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any


def what_happened(
    renewals: Iterable[Mapping[str, Any]], account_id: str, start: date, end: date
) -> set[str]:
    """The renewal outcomes (renewed, expanded, contracted, churned) of the account's
    lines ending in (start, end]."""
    return {str(r["outcome"]) for r in renewals
            if r["account_id"] == account_id and start < r["ends_on"] <= end}  # fmt: skip


def closing_outcome(cta_type: str, happened: set[str], rng: random.Random) -> str:
    """The outcome a CSM records, given what happened after the CTA opened."""
    if cta_type == "renewal":
        if "churned" in happened:
            return "churned"
        if "contracted" in happened:
            return "renewed_contraction"
        return "renewed" if happened else "not_needed"
    if cta_type == "risk":
        if "churned" in happened:
            return "churned"
        return "not_a_risk" if rng.random() < 0.2 else "saved"
    if cta_type == "opportunity":
        if "expanded" in happened:
            return "won"
        if "churned" in happened:
            return "lost"
        return "lost" if rng.random() < 0.5 else "not_needed"
    return "not_needed" if rng.random() < 0.1 else "done"
