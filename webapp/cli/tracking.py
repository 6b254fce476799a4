"""Flask commands for tracking data: `flask --app wsgi tracking purge`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.tracking import purge_tracking_details, retention_days

tracking_cli = AppGroup("tracking", help="Opens, clicks and unsubscribes.")


@tracking_cli.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Keep details this many days (default: EVENT_RETENTION_DAYS, 90).",
)
def purge(days: int | None) -> None:
    """Remove user agents and IP addresses from events older than the retention period."""
    days = retention_days() if days is None else days
    count = purge_tracking_details(utcnow(), days)
    db.session.commit()
    click.echo(f"removed tracking details from {count} event(s) older than {days} day(s)")
