from __future__ import annotations

import xml.etree.ElementTree as ET

from kmvolunteer.core.charts import Point, bar_chart, for_any_screen, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_lengths_are_proportional_and_labels_escaped():
    svg = bar_chart([Point("五华区", 50), Point("<b>x</b>", 100)], title="达标率", maximum=100)
    root = ET.fromstring(str(svg))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#b3261e"]
    assert [float(b.get("width")) for b in bars] == [170.0, 340.0]
    assert "50.0%" in str(svg)  # rates to one decimal, as in the tables
    assert "<b>" not in str(svg) and "&lt;b&gt;" in str(svg)
    assert "style=" not in str(svg)


def test_line_chart_has_a_point_per_label_and_handles_zero():
    svg = line_chart([Point(f"{m}月", 0) for m in range(1, 13)], title="hours")
    root = ET.fromstring(str(svg))
    assert len(list(root.iter(f"{SVG}circle"))) == 12


def test_empty_charts_still_render():
    assert ET.fromstring(str(bar_chart([], title="t"))) is not None
    assert ET.fromstring(str(line_chart([], title="t"))) is not None


def test_the_hours_axis_runs_to_a_round_number_in_round_quarters():
    from kmvolunteer.core.charts import nice_ceiling

    assert [nice_ceiling(v) for v in (0.5, 3, 9.5, 11, 26, 101, 1626982)] == [1, 3.2, 10, 12, 32, 120, 2000000]
    svg = str(line_chart([Point("1", 812345.5), Point("2", 100)], title="hours"))
    labels = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")][:5]
    assert labels == ["0", "250,000", "500,000", "750,000", "1,000,000"]


def test_each_chart_comes_wide_and_narrow_enough_for_a_phone():
    points = [Point(f"{m}", m) for m in range(1, 13)]
    both = str(for_any_screen(line_chart, points, title="hours"))
    wide, narrow = (ET.fromstring(svg + "</svg>") for svg in both.split("</svg>")[:2])
    assert "chart--wide" in wide.get("class") and "chart--narrow" in narrow.get("class")
    assert int(narrow.get("viewBox").split()[2]) <= 340 < int(wide.get("viewBox").split()[2])
    assert len(narrow.findall("{http://www.w3.org/2000/svg}circle")) == 12
    bars = ET.fromstring(str(bar_chart([Point("寻甸回族彝族自治县", 100)], title="t", maximum=100, narrow=True)))
    assert int(bars.get("viewBox").split()[2]) <= 340
