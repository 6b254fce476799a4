"""Flask commands for the inbox: `flask --app wsgi inbox poll --once`."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.inbox import poll_inbox_once

inbox_cli = AppGroup("inbox", help="Replies, auto-replies, bounces and unsubscribes by mail.")


@inbox_cli.command("poll")
@click.option("--once", is_flag=True, required=True, help="One pass over every mailbox.")
def poll(once: bool) -> None:
    """Read new mail from each sending domain's mailbox; prints the summary as JSON."""
    summary = poll_inbox_once(utcnow())
    db.session.commit()
    click.echo(json.dumps(summary))
    if summary["errors"]:
        raise SystemExit(1)
