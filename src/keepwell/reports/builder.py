"""Render a business review: HTML from a Jinja2 template (autoescaped) with inline SVG
charts, and PDF from that HTML with WeasyPrint (no network: every resource is inline)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from keepwell.reports import svg

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _num(value: Any, digits: int = 0) -> str:
    return "—" if value is None else f"{float(value):,.{digits}f}"


_env.filters["num"] = _num
_env.filters["day"] = lambda v: "—" if v is None else str(v)[:10]


def charts(review: dict[str, Any]) -> dict[str, Markup]:
    """The review's charts as SVG markup (built from escaped text only)."""
    usage, result = review["usage"], {}
    months = usage["months"]
    if months:
        result["users"] = svg.line_chart(
            "Active users (busiest day of each month)",
            months,
            {"users": [usage["peak_users"].get(m, 0) for m in months]},
            y_label="users",
        )
        totals = [sum(per.get(m, 0) for per in usage["events"].values()) for m in months]
        result["events"] = svg.bar_chart(
            "Product events per month", months, totals, y_label="events"
        )
    history = review["history"][-12:]
    if history:
        result["score"] = svg.line_chart(
            "Health score per snapshot",
            [str(h["as_of"])[:7] for h in history],
            {"score": [h["score"] for h in history]},
            y_label="score (0–100)",
            y_max=100,
        )
    # Markup: the SVG was assembled from XML-escaped text in reports.svg.
    return {k: Markup(v) for k, v in result.items()}


def render_html(review: dict[str, Any], *, generated_at: datetime) -> str:
    """The review as one standalone HTML document."""
    template = _env.get_template("qbr.html")
    return template.render(
        r=review, a=review["account"], charts=charts(review), generated_at=generated_at
    )


def render_pdf(review: dict[str, Any], *, generated_at: datetime) -> bytes:
    """The review as PDF bytes (A4)."""
    return to_pdf(render_html(review, generated_at=generated_at))


def to_pdf(html: str) -> bytes:
    """``html`` (a standalone document) as PDF bytes with WeasyPrint."""
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return pdf


def render_customer_html(view: dict[str, Any], *, generated_at: datetime) -> str:
    """The customer's review (:func:`keepwell.reports.customer.customer_view`) as one
    standalone HTML document; its charts are usage only (no health history)."""
    usage_only = charts({"usage": view["usage"], "history": []})
    template = _env.get_template("qbr_customer.html")
    return template.render(c=view, charts=usage_only, generated_at=generated_at)
