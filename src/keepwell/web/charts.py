"""Plotly figures as plain dicts (data + layout) for the pages: every chart has a title
and axis titles with units. Text that comes from users (names, notes) is HTML-escaped
here, since plotly.js interprets a few tags and entities in labels."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

BAND_COLOURS = {"green": "#1f8a4c", "yellow": "#d69e2e", "red": "#c53030", "unknown": "#a0aec0"}
PALETTE = ["#2458d6", "#1f8a4c", "#c53030", "#d69e2e", "#6b46c1", "#00a3c4", "#718096"]


def label(value: Any) -> str:
    """A user-supplied label made inert for plotly.js."""
    return html.escape(str(value), quote=True)


def layout(title: str, x_title: str = "", y_title: str = "", **extra: Any) -> dict[str, Any]:
    """The house layout: title, axis titles, compact margins, legend below."""
    base: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}, "x": 0, "xanchor": "left"},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "rangemode": "tozero"},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
        "legend": {"orientation": "h", "y": -0.3},
        "height": 320,
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
    }
    base.update(extra)
    return base


def figure(chart_id: str, data: list[dict[str, Any]], lay: dict[str, Any]) -> dict[str, Any]:
    """A chart for the layout's chart loader: the target element id and the figure."""
    return {"id": chart_id, "figure": {"data": data, "layout": lay}}


def line(
    chart_id: str,
    title: str,
    x: Sequence[Any],
    series: Mapping[str, Sequence[Any]],
    *,
    x_title: str = "",
    y_title: str = "",
    y_range: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Lines sharing ``x``, one per entry of ``series``."""
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": label(name),
            "x": list(x),
            "y": list(values),
            "line": {"color": PALETTE[i % len(PALETTE)]},
        }
        for i, (name, values) in enumerate(series.items())
    ]
    lay = layout(title, x_title, y_title)
    if y_range is not None:
        lay["yaxis"]["range"] = list(y_range)
    return figure(chart_id, data, lay)


def stacked_bands(chart_id: str, title: str, trend: list[dict[str, Any]]) -> dict[str, Any]:
    """Accounts per health band over snapshots, stacked."""
    x = [str(t["as_of"]) for t in trend]
    data = [
        {
            "type": "bar",
            "name": band,
            "x": x,
            "y": [t[band] for t in trend],
            "marker": {"color": colour},
        }
        for band, colour in BAND_COLOURS.items()
    ]
    lay = layout(title, "snapshot", "accounts", barmode="stack")
    lay["xaxis"]["type"] = "category"
    return figure(chart_id, data, lay)


def bars(
    chart_id: str,
    title: str,
    x: Sequence[Any],
    series: Mapping[str, Sequence[Any]],
    *,
    x_title: str = "",
    y_title: str = "",
    stacked: bool = False,
    colours: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Grouped (or stacked) bars sharing ``x``."""
    colours = colours or PALETTE
    data = [
        {
            "type": "bar",
            "name": label(name),
            "x": [label(v) for v in x],
            "y": list(values),
            "marker": {"color": colours[i % len(colours)]},
        }
        for i, (name, values) in enumerate(series.items())
    ]
    mode = "stack" if stacked else "group"
    lay = layout(title, x_title, y_title, barmode=mode)
    lay["xaxis"]["type"] = "category"
    return figure(chart_id, data, lay)


def waterfall(
    chart_id: str, title: str, steps: list[tuple[str, float, str]], y_title: str
) -> dict[str, Any]:
    """A waterfall of ``(label, amount, measure)`` steps; measure is ``absolute``,
    ``relative`` or ``total`` (plotly's)."""
    data = [
        {
            "type": "waterfall",
            "x": [s[0] for s in steps],
            "y": [s[1] for s in steps],
            "measure": [s[2] for s in steps],
            "text": [_signed(s[1], s[2]) for s in steps],
            "textposition": "outside",
            "cliponaxis": False,
            "connector": {"line": {"color": "#cbd2dd"}},
            "increasing": {"marker": {"color": "#1f8a4c"}},
            "decreasing": {"marker": {"color": "#c53030"}},
            "totals": {"marker": {"color": "#2458d6"}},
        }
    ]
    lay = layout(title, "", y_title, showlegend=False)
    return figure(chart_id, data, lay)


def _signed(amount: float, measure: str) -> str:
    short = f"{abs(amount) / 1000:,.1f}k" if abs(amount) >= 1000 else f"{abs(amount):,.0f}"
    if measure != "relative":
        return short
    return "0" if amount == 0 else ("+" if amount > 0 else "−") + short


def heatmap(
    chart_id: str,
    title: str,
    x: Sequence[Any],
    y: Sequence[Any],
    z: list[list[float | None]],
    *,
    x_title: str,
    y_title: str,
) -> dict[str, Any]:
    """A heatmap of fractions shown as percentages (0 to 100%), each cell's value
    written in it: 0% is a coloured cell reading "0%", a cell without a value stays
    blank (no data), so the two never look alike."""
    data = [
        {
            "type": "heatmap",
            "x": list(x),
            "y": list(y),
            "z": z,
            "zmin": 0,
            "zmax": 1,
            "colorscale": [[0, "#e9a3a3"], [0.5, "#f6e3a1"], [0.8, "#9fc0f2"], [1, "#2458d6"]],
            "texttemplate": "%{z:.0%}",
            "hoverongaps": False,
            "hovertemplate": "%{y}, month %{x}: %{z:.0%}<extra></extra>",
            "colorbar": {"tickformat": ".0%"},
        }
    ]
    lay = layout(title, x_title, y_title, height=max(320, 22 * len(y) + 120))
    lay["yaxis"]["autorange"] = "reversed"
    lay["yaxis"]["type"] = "category"
    return figure(chart_id, data, lay)


def mark_partial(chart: dict[str, Any], partial: Sequence[bool], note: str) -> dict[str, Any]:
    """``chart`` with its partial periods (``partial[i]`` for the i-th x) marked as such:
    bars hatched and faded, line points drawn open, and ``note`` written on the chart
    (a period still running must not read as a full one)."""
    if not any(partial):
        return chart
    for trace in chart["figure"]["data"]:
        marker = trace.setdefault("marker", {})
        if trace.get("type") == "bar":
            marker["opacity"] = [0.45 if p else 1.0 for p in partial]
            marker["pattern"] = {"shape": ["/" if p else "" for p in partial]}
        else:
            marker["symbol"] = ["circle-open" if p else "circle" for p in partial]
            marker["size"] = [10 if p else 6 for p in partial]
    chart["figure"]["layout"]["annotations"] = [
        {"text": label(note), "xref": "paper", "yref": "paper", "x": 1, "y": 1.1,
         "xanchor": "right", "showarrow": False, "font": {"size": 11, "color": "#718096"}}
    ]  # fmt: skip
    return chart


def points_with_mean(
    chart_id: str,
    title: str,
    x: Sequence[Any],
    points: Sequence[float],
    mean: Sequence[float | None],
    *,
    mean_name: str,
    x_title: str = "",
    y_title: str = "",
    y_range: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Separate answers as unjoined points, and their rolling mean as a line (answers
    are not a series: joining them would draw a trend between people)."""
    data = [
        {"type": "scatter", "mode": "markers", "name": "answer", "x": list(x),
         "y": list(points), "marker": {"color": PALETTE[0], "size": 8, "opacity": 0.7}},
        {"type": "scatter", "mode": "lines", "name": label(mean_name), "x": list(x),
         "y": list(mean), "line": {"color": PALETTE[4], "width": 2}},
    ]  # fmt: skip
    lay = layout(title, x_title, y_title)
    if y_range is not None:
        lay["yaxis"]["range"] = list(y_range)
    return figure(chart_id, data, lay)


def _faint(colour: str) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},0.15)"


def step_curves_with_band(
    chart_id: str,
    title: str,
    curves: Mapping[str, Sequence[tuple[float, float, float | None, float | None]]],
    *,
    band_name: str,
    x_title: str,
    y_title: str,
) -> dict[str, Any]:
    """Step curves, one per entry of ``curves`` (points ``(x, y, lower, upper)``), each
    with its confidence band shaded behind it (where the bound is known)."""
    data: list[dict[str, Any]] = []
    for i, (name, points) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        xs = [p[0] for p in points]
        group = f"g{i}"
        data += [
            {"type": "scatter", "mode": "lines", "x": xs, "y": [p[3] for p in points],
             "line": {"shape": "hv", "width": 0}, "hoverinfo": "skip", "showlegend": False,
             "legendgroup": group, "connectgaps": False},
            {"type": "scatter", "mode": "lines", "x": xs, "y": [p[2] for p in points],
             "line": {"shape": "hv", "width": 0}, "fill": "tonexty",
             "fillcolor": _faint(colour), "name": f"{label(name)}: {band_name}",
             "legendgroup": group, "hoverinfo": "skip", "connectgaps": False},
            {"type": "scatter", "mode": "lines", "x": xs, "y": [p[1] for p in points],
             "line": {"shape": "hv", "color": colour}, "name": label(name),
             "legendgroup": group},
        ]  # fmt: skip
    return figure(chart_id, data, layout(title, x_title, y_title, height=380))
