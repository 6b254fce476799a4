"""Flask commands: `flask --app wsgi users|domains|demo ...`."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from webapp import cli_leads, cli_tracking
from webapp.extensions import db
from webapp.models.users import ROLES

users_cli = AppGroup("users", help="Users and API tokens.")
domains_cli = AppGroup("domains", help="Sending domains.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@click.password_option(prompt="Password", help="Prompted for when not given.")
def users_create(email: str, role: str, name: str, password: str) -> None:
    """Add a user."""
    from webapp.services.users import UserError, create_user

    try:
        user = create_user(email, password, role, name=name)
    except UserError as error:
        raise click.BadParameter(error.message, param_hint=error.field) from None
    db.session.commit()
    click.echo(f"created {user.role} {user.email}")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="What the token is for.")
def users_token(email: str, name: str) -> None:
    """Print a new API token for the user (shown once; only its hash is kept)."""
    from webapp.services.users import get_user_by_email, issue_token

    user = get_user_by_email(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    token = issue_token(user, name=name)
    db.session.commit()
    click.echo(token)


@domains_cli.command("seed")
def domains_seed() -> None:
    """Create the four default sending domains that are missing."""
    from webapp.services.domains import seed_default_domains

    created = seed_default_domains()
    db.session.commit()
    click.echo(f"created {len(created)} sending domain(s)")


@domains_cli.command("reseal")
def domains_reseal() -> None:
    """Seal every domain secret under the current SECRET_KEY (run after changing it)."""
    from webapp.services.domains import reseal_domain_secrets

    count = reseal_domain_secrets()
    db.session.commit()
    click.echo(f"sealed {count} secret(s) under the current SECRET_KEY")


def _domain_set_options(command: Any) -> Any:
    """One option per editable field, named like the API's (`--smtp-host`, ...)."""
    from webapp.services.domains import EDITABLE_FIELDS

    for field in reversed(EDITABLE_FIELDS):
        help_text = "JSON list of {alias, display_name}" if field == "aliases" else None
        if field == "working_days":
            help_text = "comma-separated weekdays, Monday 1"
        command = click.option(f"--{field.replace('_', '-')}", field, default=None, help=help_text)(
            command
        )
    return command


@domains_cli.command("set")
@click.argument("name")
@_domain_set_options
def domains_set(name: str, **options: str | None) -> None:
    """Change a sending domain's settings; prints the domain (without secrets) as JSON."""
    from webapp.services.domains import (
        DomainSettingsError,
        domain_to_dict,
        get_domain,
        update_domain,
    )

    domain = get_domain(name)
    if domain is None:
        raise click.BadParameter(f"no sending domain {name}", param_hint="NAME")
    changes: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if "aliases" in changes:
        try:
            changes["aliases"] = json.loads(changes["aliases"])
        except json.JSONDecodeError:
            raise click.BadParameter("must be a JSON list", param_hint="--aliases") from None
    try:
        update_domain(domain, changes)
    except DomainSettingsError as error:
        db.session.rollback()
        raise click.ClickException(f"invalid settings: {error}") from None
    db.session.commit()
    click.echo(json.dumps(domain_to_dict(domain), indent=2))


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when the database holds no leads yet.")
def demo(if_empty: bool) -> None:
    """Seed the demo data set and print the demo logins."""
    from webapp.database import utcnow
    from webapp.services.demo import DEMO_PASSWORD, DEMO_USERS
    from webapp.services.demo_world import seed_demo_world

    summary = seed_demo_world(utcnow(), if_empty=if_empty)
    db.session.commit()
    click.echo(json.dumps(summary))
    for email, role in DEMO_USERS:
        click.echo(f"demo login ({role}): {email} / {DEMO_PASSWORD}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(domains_cli)
    app.cli.add_command(demo)
    app.cli.add_command(cli_leads.leads_cli)
    app.cli.add_command(cli_tracking.tracking_cli)
    from webapp import cli_sending

    for command in (cli_sending.worker, cli_sending.dispatch, cli_sending.serve):
        app.cli.add_command(command)
    from webapp.cli_inbox import inbox_cli

    app.cli.add_command(inbox_cli)
