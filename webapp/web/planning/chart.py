"""The dry run's chart: stacked bars per day, one colour and one pattern per domain.

Geometry only; templates/planning/_dry_run.html draws it as inline SVG. The pattern
(stripes, dots, ...) tells the domains apart without colour, and every bar segment
carries a title with its numbers; the same numbers are in the table beneath.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from webapp.web.planning.blueprint import bp

# Okabe-Ito: distinguishable with the common kinds of colour blindness.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999933", "#444444")
PATTERNS = ("solid", "stripes", "dots", "cross", "hlines", "vlines", "grid", "backstripes")
# The legend names each pattern, so the reader can match it without colour.
PATTERN_LABELS = {
    "solid": _l("solid"),
    "stripes": _l("stripes"),
    "dots": _l("dots"),
    "cross": _l("crosses"),
    "hlines": _l("horizontal lines"),
    "vlines": _l("vertical lines"),
    "grid": _l("grid"),
    "backstripes": _l("back stripes"),
}

WIDTH = 760
HEIGHT = 240
MARGIN_LEFT = 44
MARGIN_BOTTOM = 36
MARGIN_TOP = 10


def _nice_max(value: int) -> int:
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return -(-value // step) * step
    return value


@bp.app_template_global("dry_run_chart")
def dry_run_chart(report: dict[str, Any]) -> dict[str, Any]:
    """Bars, series (legend), ticks and the table of a dry-run report."""
    series = [
        {
            "domain": entry["domain"],
            "label": entry.get("label") or entry["domain"],
            "colour": COLOURS[i % len(COLOURS)],
            "pattern": PATTERNS[i % len(PATTERNS)],
            "pattern_label": PATTERN_LABELS[PATTERNS[i % len(PATTERNS)]],
            "pattern_id": f"dry-run-pattern-{i}",
        }
        for i, entry in enumerate(report["per_domain"])
    ]
    names = [s["domain"] for s in series]
    counts: dict[str, dict[str, int]] = {}
    for row in report["per_day"]:
        counts.setdefault(row["date"], {})[row["domain"]] = row["messages"]
    dates = sorted(counts)
    totals = [sum(counts[d].values()) for d in dates]
    top = _nice_max(max(totals, default=0) or 1)
    plot_width = WIDTH - MARGIN_LEFT - 8
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_width / max(len(dates), 1)
    bar_width = max(1.0, slot * 0.8)
    label_every = max(1, round(len(dates) / 12 + 0.49))
    bars = []
    for index, day in enumerate(dates):
        x = MARGIN_LEFT + index * slot + (slot - bar_width) / 2
        y: float = MARGIN_TOP + plot_height
        segments = []
        for s in series:
            count = counts[day].get(s["domain"], 0)
            if not count:
                continue
            height = plot_height * count / top
            y -= height
            segments.append({**s, "count": count, "x": x, "y": y, "height": height})
        bars.append(
            {
                "date": day,
                "x": x,
                "width": bar_width,
                "total": totals[index],
                "segments": segments,
                "show_label": index % label_every == 0,
                "label_x": x + bar_width / 2,
            }
        )
    ticks = [
        {"value": top * k // 4, "y": MARGIN_TOP + plot_height - plot_height * k / 4}
        for k in range(5)
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": MARGIN_LEFT,
        "baseline": MARGIN_TOP + plot_height,
        "series": series,
        "bars": bars,
        "ticks": ticks,
        "table": [
            {"date": d, "counts": [counts[d].get(n, 0) for n in names], "total": t}
            for d, t in zip(dates, totals, strict=True)
        ],
        "column_totals": [sum(counts[d].get(n, 0) for d in dates) for n in names],
    }
