"""The application object behind Flask's `current_app` proxy."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app
from werkzeug.local import LocalProxy


def current_app_object() -> Flask:
    """The app itself, not the proxy: for a thread, a job or a server that outlives the
    current context. Flask types `current_app` as the app, which hides the proxy's own
    `_get_current_object()`."""
    return cast("LocalProxy[Flask]", current_app)._get_current_object()
