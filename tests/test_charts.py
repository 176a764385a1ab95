from __future__ import annotations

import xml.etree.ElementTree as ET

from kmvolunteer.core.charts import Point, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_lengths_are_proportional_and_labels_escaped():
    svg = bar_chart([Point("五华区", 50), Point("<b>x</b>", 100)], title="达标率", maximum=100)
    root = ET.fromstring(str(svg))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#b3261e"]
    assert [float(b.get("width")) for b in bars] == [180.0, 360.0]
    assert "<b>" not in str(svg) and "&lt;b&gt;" in str(svg)
    assert "style=" not in str(svg)


def test_line_chart_has_a_point_per_label_and_handles_zero():
    svg = line_chart([Point(f"{m}月", 0) for m in range(1, 13)], title="hours")
    root = ET.fromstring(str(svg))
    assert len(list(root.iter(f"{SVG}circle"))) == 12


def test_empty_charts_still_render():
    assert ET.fromstring(str(bar_chart([], title="t"))) is not None
    assert ET.fromstring(str(line_chart([], title="t"))) is not None
