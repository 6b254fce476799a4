"""Blueprints, one package per area; routes only."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.extensions import csrf
    from webapp.web.api import bp as api_bp
    from webapp.web.auth import bp as auth_bp
    from webapp.web.dashboard import bp as dashboard_bp
    from webapp.web.domains import bp as domains_bp
    from webapp.web.public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(domains_bp, url_prefix="/domains")
    # The API authenticates with bearer tokens only, never cookies, so CSRF cannot reach it.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    init_navigation(app)


# (endpoint, label) of the main navigation, in order.
NAV_ITEMS = [
    ("dashboard.index", "Overview"),
    ("domains.index", "Domains"),
]


def init_navigation(app: Flask) -> None:
    @app.context_processor
    def _nav() -> dict[str, object]:
        return {"nav_items": NAV_ITEMS}
