"""Charts embedded in pages: user text made inert for plotly.js and for the HTML parser."""

from __future__ import annotations

import json

from keepwell.web import charts
from keepwell.web.toolkit import chart_json


def test_chart_json_cannot_close_its_script_element() -> None:
    text = chart_json({"title": "</script><script>alert(1)</script> & more"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text)["title"].startswith("</script>")


def test_bar_labels_from_users_are_escaped_for_plotly() -> None:
    chart = charts.bars("c", "t", ["<b>x</b>"], {"<i>s</i>": [1]})
    trace = chart["figure"]["data"][0]
    assert (trace["x"], trace["name"]) == (["&lt;b&gt;x&lt;/b&gt;"], "&lt;i&gt;s&lt;/i&gt;")


def test_every_chart_has_a_title_and_axis_titles() -> None:
    chart = charts.line("c", "Users", ["2026-01"], {"u": [1]}, x_title="month", y_title="users")
    layout = chart["figure"]["layout"]
    assert (layout["title"]["text"], layout["xaxis"]["title"]["text"],
            layout["yaxis"]["title"]["text"]) == ("Users", "month", "users")  # fmt: skip
