"""The campaigns dashboard: a Flask app factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from webapp import cli, edge, errors, extensions, formatting, headers, hosts, i18n, security
from webapp.config import ROOT, Config
from webapp.extensions import db
from webapp.web import register_blueprints


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration from the environment, then `config` on top."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(Config())
    if config:
        app.config.update(config)

    extensions.db.init_app(app)
    extensions.migrate.init_app(
        app,
        extensions.db,
        directory=str(_migrations_dir()),
        compare_type=True,
        render_as_batch=True,
    )
    # First: a malformed Host is refused, and a tracking host answers its tracking URLs
    # and nothing else, before anything else reads the request.
    hosts.init_app(app)
    edge.init_app(app)  # then: nothing after it meets input no view could use
    extensions.csrf.init_app(app)
    extensions.mail.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    headers.init_app(app)
    _enable_sqlite_foreign_keys(app)

    register_blueprints(app)
    errors.init_app(app)
    formatting.init_app(app)
    cli.init_app(app)
    return app


def _migrations_dir() -> Any:

    return ROOT / "migrations"


def _enable_sqlite_foreign_keys(app: Flask) -> None:
    """SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked per connection."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
