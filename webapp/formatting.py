"""Jinja filters: the formats of `webapp.formats`, so every template shows them alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from webapp.formats import (
    clock_time,
    day_month,
    decimal,
    duration,
    local_date,
    local_time,
    percent,
    relative_time,
    thousands,
)

FILTERS: dict[str, Callable[..., Any]] = {
    "local_time": local_time,  # 02-12-2026 13:20
    "local_date": local_date,  # 02-12-2026
    "day_month": day_month,  # 02-12 (chart axes)
    "clock_time": clock_time,  # 13:20
    "thousands": thousands,  # 12.345
    "decimal": decimal,  # 12.345,5
    "percent": percent,  # 28,57%
    "duration": duration,  # 20 minuten
    "relative_time": relative_time,  # 3 uur geleden
}


def init_app(app: Flask) -> None:
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
