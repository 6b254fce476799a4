"""Chart geometry for server-drawn SVG: bars and lines that read without colour.

Only numbers in, coordinates out; templates/kpis/_chart_*.html draws them. Bars carry
a hatch pattern, each line its own dash and marker shape, every series a direct label,
and the page shows the same numbers as a table beside or beneath the chart.
"""

from __future__ import annotations

from typing import Any

# Okabe-Ito: distinguishable with the common kinds of colour blindness.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
MARKERS = ("circle", "square", "triangle", "diamond")

WIDTH = 760
HEIGHT = 260
LEFT = 48
RIGHT = 96  # room for the direct labels at the end of each line
TOP = 12
BOTTOM = 40


def nice_max(value: int) -> int:
    """A round axis maximum at or above `value`, in four equal steps of 1, 2 or 5 x 10^k."""
    value = max(value, 1)
    magnitude = 1
    while True:
        for base in (1, 2, 5):
            step = base * magnitude
            if value <= step * 4:
                return -(-value // step) * step
        magnitude *= 10


def _ticks(top: int, plot_height: float) -> list[dict[str, Any]]:
    return [
        {"value": round(top * k / 4), "y": TOP + plot_height - plot_height * k / 4}
        for k in range(5)
    ]


def timeline_chart(
    rows: list[dict[str, Any]], bars: str = "sent", lines: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Bars of `bars` per day with `lines` drawn over them; rows as campaign_timeline's."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    top = nice_max(max((row[name] for row in rows for name in (bars, *lines)), default=0))
    slot = plot_width / max(len(rows), 1)
    bar_width = max(1.0, slot * 0.7)
    label_every = max(1, -(-len(rows) // 12))
    baseline = TOP + plot_height

    def y(value: int) -> float:
        return baseline - plot_height * value / top

    columns = []
    for index, row in enumerate(rows):
        centre = LEFT + slot * index + slot / 2
        columns.append(
            {
                "date": row["date"],
                "x": centre - bar_width / 2,
                "width": bar_width,
                "y": y(row[bars]),
                "height": baseline - y(row[bars]),
                "value": row[bars],
                "centre": centre,
                "show_label": index % label_every == 0,
            }
        )
    series: list[dict[str, Any]] = []
    for number, name in enumerate(lines, start=1):
        points = [(c["centre"], y(row[name])) for c, row in zip(columns, rows, strict=True)]
        series.append(
            {
                "name": name,
                "colour": COLOURS[number % len(COLOURS)],
                "dash": DASHES[number % len(DASHES)],
                "marker": MARKERS[number % len(MARKERS)],
                "points": [
                    {"x": x, "y": py, "value": row[name], "date": row["date"]}
                    for (x, py), row in zip(points, rows, strict=True)
                ],
                "path": " ".join(f"{x:.1f},{py:.1f}" for x, py in points),
                "label_y": points[-1][1] if points else baseline,
            }
        )
    # Direct labels must not sit on top of each other.
    placed: list[float] = []
    for entry in sorted(series, key=lambda s: s["label_y"]):
        label_y = entry["label_y"]
        while any(abs(label_y - other) < 13 for other in placed):
            label_y += 13
        entry["label_y"] = label_y
        placed.append(label_y)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right_edge": WIDTH - RIGHT,
        "baseline": baseline,
        "bars_name": bars,
        "bar_colour": COLOURS[0],
        "columns": columns,
        "series": series,
        "ticks": _ticks(top, plot_height),
        "label_x": WIDTH - RIGHT + 8,
    }


def meter_bars(items: list[dict[str, Any]], value: str, limit: str) -> dict[str, Any]:
    """Horizontal bars of `value` against `limit` per item (e.g. sends against capacity)."""
    width, row_height, label_width = 560, 28, 0
    scale = max((max(i[value], i[limit]) for i in items), default=0) or 1
    rows = []
    for index, item in enumerate(items):
        rows.append(
            {
                **item,
                "y": index * row_height + 4,
                "bar": (width - 120) * item[value] / scale,
                "limit": (width - 120) * item[limit] / scale,
            }
        )
    return {
        "width": width,
        "height": len(items) * row_height + 8,
        "label_width": label_width,
        "rows": rows,
        "colour": COLOURS[0],
    }
