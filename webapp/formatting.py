"""Jinja filters: times are stored in UTC and shown in the app's time zone."""

from __future__ import annotations

from flask import Flask

from webapp.formats import local_time, thousands


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(thousands, "thousands")
