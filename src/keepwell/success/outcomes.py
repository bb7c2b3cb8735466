"""The outcomes a CTA may close with, by CTA type, and what each says about the play
(pure).

A renewal CTA closes as renewed, renewed with contraction, churned or not needed; a
risk CTA as saved, churned or not a risk; an opportunity as won, lost or not needed; a
lifecycle CTA as done or not needed. Each outcome is a ``success`` of the play, a
``failure``, or ``neutral`` (the CTA was not needed): playbook effectiveness counts them.
"""

from __future__ import annotations

from keepwell.core.errors import InputError

#: Outcomes by CTA type, in the order a form lists them, with their label and effect.
OUTCOMES: dict[str, dict[str, tuple[str, str]]] = {
    "renewal": {
        "renewed": ("Renewed", "success"),
        "renewed_contraction": ("Renewed with contraction", "success"),
        "churned": ("Churned", "failure"),
        "not_needed": ("Not needed", "neutral"),
    },
    "risk": {
        "saved": ("Saved", "success"),
        "churned": ("Churned", "failure"),
        "not_a_risk": ("Not a risk", "neutral"),
    },
    "opportunity": {
        "won": ("Won", "success"),
        "lost": ("Lost", "failure"),
        "not_needed": ("Not needed", "neutral"),
    },
    "lifecycle": {
        "done": ("Done", "success"),
        "not_needed": ("Not needed", "neutral"),
    },
}
EFFECTS = ("success", "failure", "neutral")


def outcomes_for(cta_type: str) -> dict[str, str]:
    """The outcomes of ``cta_type`` and their labels, in form order."""
    return {key: label for key, (label, _) in OUTCOMES.get(cta_type, {}).items()}


def check_outcome(cta_type: str, outcome: str) -> str:
    """``outcome`` when it is one of ``cta_type``'s; :class:`InputError` listing them."""
    known = OUTCOMES.get(cta_type, {})
    if outcome not in known:
        raise InputError(
            f"{outcome!r} is not an outcome of a {cta_type} CTA",
            hint=f"one of {', '.join(known) or '(none: unknown type)'}",
        )
    return outcome


def effect_of(cta_type: str, outcome: str | None) -> str | None:
    """``success``, ``failure`` or ``neutral`` for a known outcome, else None."""
    entry = OUTCOMES.get(cta_type, {}).get(outcome or "")
    return entry[1] if entry else None
