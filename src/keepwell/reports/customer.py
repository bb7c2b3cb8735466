"""The business review the customer can be given (pure), shaped from the internal one.

It shows the customer's own things in their words: their goals and success measures
against target, both sides' milestones (ours as "our team", no one's email), usage and
adoption, the subscription, and the narrative the CSM edited. It leaves out everything
internal: the health band and score, the segment, contacts who left, the CSM's email,
risk and work items, internal goal wording, and any other customer's figure. Peers
appear only as the customer's percentile among at least :data:`MIN_PEERS` anonymised
peers (no median, no peer value).

Baselines: an objective counted in active users takes as its baseline the active users
of the plan's first month in the data (a template's 0 is not the customer's start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Fewest peers a percentile is shown over (fewer could identify a peer).
MIN_PEERS = 10
#: Benchmarks the customer may see (their ARR and internal health stay out).
CUSTOMER_BENCHMARKS = {
    "active_users": "Active users, last 30 days",
    "events_per_user": "Product use per active user, last 30 days",
}


def _baseline(
    objective: Mapping[str, Any], plan: Mapping[str, Any], usage: Mapping[str, Any]
) -> Any:
    words = f"{objective.get('metric') or objective.get('title') or ''}".lower()
    if objective.get("unit") == "users" and "active users" in words and plan.get("created_on"):
        start = plan["created_on"].strftime("%Y-%m")
        later = [m for m in usage.get("months", []) if m >= start]
        if later:
            return float(usage["peak_users"].get(later[0], 0))
    return objective.get("baseline")


def _objectives(plan: Mapping[str, Any] | None, usage: Mapping[str, Any]) -> list[dict[str, Any]]:
    result = []
    for o in (plan or {}).get("objectives", []):
        baseline, target, current = (
            _baseline(o, plan or {}, usage),
            o.get("target"),
            o.get("current"),
        )
        share = None
        if None not in (baseline, target, current) and target != baseline:
            share = min(1.0, max(0.0, (current - baseline) / (target - baseline)))
        result.append({"title": o.get("metric") or o.get("title"), "unit": o.get("unit"),
                       "baseline": baseline, "target": target, "current": current,
                       "due_on": o.get("due_on"), "progress": share})  # fmt: skip
    return result


def _milestones(plan: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    # owners stay out: ours are staff addresses, theirs may be someone who left
    return [{"title": m["title"], "side": "you" if m["side"] == "customer" else "our team",
             "owner": None, "due_on": m["due_on"],
             "status": m["status"], "overdue": m.get("overdue", False)}
            for m in (plan or {}).get("milestones", [])]  # fmt: skip


def _peers(peers: Mapping[str, Any]) -> dict[str, Any]:
    count = int(peers.get("peers") or 0)
    if count < MIN_PEERS:
        return {"peers": count, "shown": False, "measures": []}
    rows = [{"label": CUSTOMER_BENCHMARKS[m["key"]], "percentile": m["percentile"]}
            for m in peers.get("measures", [])
            if m["key"] in CUSTOMER_BENCHMARKS and m.get("percentile") is not None]  # fmt: skip
    return {"peers": count, "shown": bool(rows), "measures": rows}


def _goals(objectives: Sequence[Mapping[str, Any]], measures: Sequence[Mapping[str, Any]],
           renewal: Mapping[str, Any]) -> list[str]:  # fmt: skip
    goals = [
        f"Reach {o['title']}: {o['target']:g} {o.get('unit') or ''}".rstrip()
        for o in objectives
        if (o.get("progress") or 0) < 1 and o.get("target") is not None
    ]
    goals += [f"Move {m['name']} to {m['target']:g} {m['unit']} by {m['target_on']}"
              for m in measures if (m.get("progress") or 0) < 1]  # fmt: skip
    if renewal.get("next_renewal") is not None:
        goals.append(f"Plan the next term together before {renewal['next_renewal']}")
    return goals[:6] or ["Agree the next objectives together"]


def customer_view(
    review: Mapping[str, Any],
    measures: Sequence[Mapping[str, Any]],
    narrative: Mapping[str, str],
) -> dict[str, Any]:
    """The customer's review (see the module docstring) from the internal ``review``
    (:func:`keepwell.reports.service.business_review`)."""
    account, plan = review["account"], review.get("plan")
    objectives = _objectives(plan, review["usage"])
    renewal = review["renewal"]
    return {
        "name": account["name"], "as_of": review["as_of"],
        "period_start": review["period_start"], "usage": review["usage"],
        "adoption": review["adoption"][:10],
        "plan_title": (plan or {}).get("title"), "objectives": objectives,
        "milestones": _milestones(plan),
        "measures": [{k: m[k] for k in ("name", "unit", "baseline", "target", "target_on",
                                        "latest", "progress")} for m in measures],
        "support": {k: review["support"][k] for k in ("opened", "closed", "median_hours")},
        "renewal": {"next_renewal": renewal["next_renewal"],
                    "lines": [{"product": s["product"], "starts_on": s["starts_on"],
                               "ends_on": s["ends_on"]} for s in renewal["active_lines"]]},
        "peers": _peers(review["peers"]),
        "goals": _goals(objectives, measures, renewal),
        "narrative": dict(narrative),
    }  # fmt: skip
