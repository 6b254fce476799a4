"""`flask demo`: the demo data set."""

from __future__ import annotations

import json

import click

from webapp.database import utcnow
from webapp.demo.seed import DEMO_PASSWORD, DEMO_USERS
from webapp.demo.world import seed_demo_world
from webapp.extensions import db


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no leads yet.")
def demo(if_empty: bool) -> None:
    """Seed the demo data set and print the demo logins."""
    summary = seed_demo_world(utcnow(), if_empty=if_empty)
    db.session.commit()
    click.echo(json.dumps(summary))
    for email, role in DEMO_USERS:
        click.echo(f"demo login ({role}): {email} / {DEMO_PASSWORD}")
