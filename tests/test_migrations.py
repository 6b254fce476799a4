"""The migration history builds the schema the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import app_config, migrate
from webapp import create_app
from webapp.extensions import db

EXPECTED_TABLES = {
    "alembic_version",
    "api_tokens",
    "audit_events",
    "campaign_audience",
    "campaign_kpi_days",
    "campaign_actions",
    "campaign_kpis",
    "campaigns",
    "domain_booking_days",
    "dry_run_reports",
    "import_jobs",
    "import_uploads",
    "invitations",
    "leads",
    "message_events",
    "messages",
    "recovery_codes",
    "sending_domains",
    "suppressions",
    "template_steps",
    "templates",
    "users",
}


def differences_after_upgrade(database_url: str) -> tuple[set[str], list[object]]:
    app = create_app(app_config(database_url))
    migrate(app)
    with app.app_context(), db.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    with app.app_context():
        db.engine.dispose()
    return tables, diff


def test_migrations_upgrade_empty_postgres_and_match_the_models(
    fresh_database: Callable[[], str],
) -> None:
    tables, diff = differences_after_upgrade(fresh_database())
    assert tables == EXPECTED_TABLES
    assert diff == []


def test_migrations_upgrade_empty_sqlite_and_match_the_models(tmp_path: Path) -> None:
    tables, diff = differences_after_upgrade(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert tables == EXPECTED_TABLES
    assert diff == []


def test_partial_indexes_exist_on_postgres(fresh_database: Callable[[], str]) -> None:
    app = create_app(app_config(fresh_database()))
    migrate(app)
    with app.app_context(), db.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'idx_%'")
        ).all()
        definitions = dict(rows)
    with app.app_context():
        db.engine.dispose()
    assert (
        "WHERE ((status)::text = 'queued'::text)"
        in definitions["idx_messages_composite_scheduling"]
    )
    assert (
        "WHERE ((deleted_at IS NULL) AND (stopped = false))"
        in definitions["idx_leads_composite_targeting"]
    )
    assert "idx_campaigns_composite_status" in definitions
    assert "idx_messages_active_campaigns" in definitions
    assert "idx_leads_active_targeting" in definitions


def _event_trigger_level(connection: sa.Connection) -> str:
    """'statement' or 'row': how the KPI trigger on new events runs."""
    row_level = connection.execute(
        sa.text("SELECT (tgtype & 1) = 1 FROM pg_trigger WHERE tgname = 'kpis_event_inserted'")
    ).scalar_one()
    return "row" if row_level else "statement"


def test_the_history_goes_down_and_up_again_on_postgres(
    fresh_database: Callable[[], str],
) -> None:
    """0004 swaps the event trigger for a statement trigger; going back restores 0003's."""
    from flask_migrate import downgrade, upgrade

    app = create_app(app_config(fresh_database()))
    migrate(app)
    with app.app_context():
        with db.engine.connect() as connection:
            assert _event_trigger_level(connection) == "statement"
        downgrade(revision="0003")
        with db.engine.connect() as connection:
            assert _event_trigger_level(connection) == "row"
        upgrade()
        with db.engine.connect() as connection:
            assert _event_trigger_level(connection) == "statement"
        db.engine.dispose()
