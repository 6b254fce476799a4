"""`flask users ...`: people and their API tokens."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.models.users import ROLES
from webapp.services.users import UserError, create_user, get_user_by_email, issue_token

users_cli = AppGroup("users", help="Users and API tokens.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@click.password_option(prompt="Password", help="Prompted for when not given.")
def users_create(email: str, role: str, name: str, password: str) -> None:
    """Add a user."""
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
    user = get_user_by_email(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    token = issue_token(user, name=name)
    db.session.commit()
    click.echo(token)
