"""`flask users ...`: people, their passwords and their API tokens."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.models import User
from webapp.models.users import ROLES
from webapp.services import two_factor
from webapp.services.errors import ServiceError
from webapp.services.users import (
    UserError,
    create_user,
    get_token,
    get_user_by_email,
    issue_token,
    list_tokens,
    revoke_token,
    set_password,
    update_user,
)

users_cli = AppGroup("users", help="Users and API tokens.")


def _user(email: str) -> User:
    user = get_user_by_email(email)
    if user is None:
        raise click.BadParameter(f"no user {email}", param_hint="EMAIL")
    return user


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


@users_cli.command("set-password")
@click.argument("email")
@click.password_option(prompt="New password", help="Prompted for when not given.")
def users_set_password(email: str, password: str) -> None:
    """Change a user's password; every login of theirs ends."""
    user = _user(email)
    try:
        set_password(user, password)
    except UserError as error:
        raise click.BadParameter(error.message, param_hint=error.field) from None
    db.session.commit()
    click.echo(f"password changed for {user.email}; their logins have ended")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Stop a user: their logins end and their API tokens are revoked."""
    user = update_user(_user(email), active=False)
    db.session.commit()
    click.echo(f"deactivated {user.email}")


@users_cli.command("activate")
@click.argument("email")
def users_activate(email: str) -> None:
    """Let a deactivated user log in again (their old API tokens stay revoked)."""
    user = update_user(_user(email), active=True)
    db.session.commit()
    click.echo(f"activated {user.email}")


@users_cli.command("reset-two-factor")
@click.argument("email")
def users_reset_two_factor(email: str) -> None:
    """Switch off a user's two-factor sign-in (a lost phone and lost recovery codes);
    their logins end. They log in with their password and can set it up again."""
    user = _user(email)
    if not two_factor.reset(user):
        click.echo(f"two-factor sign-in was not on for {user.email}; nothing changed")
        return
    db.session.commit()
    click.echo(f"two-factor sign-in switched off for {user.email}; their logins have ended")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="What the token is for.")
def users_token(email: str, name: str) -> None:
    """Print a new API token for the user (shown once; only its hash is kept)."""
    token = issue_token(_user(email), name=name)
    db.session.commit()
    click.echo(token)


@users_cli.command("tokens")
@click.argument("email")
def users_tokens(email: str) -> None:
    """List a user's API tokens: id, name, created, last used, revoked."""
    for api_token in list_tokens(_user(email)):
        used = api_token.last_used_at.isoformat() if api_token.last_used_at else "never used"
        revoked = f"revoked {api_token.revoked_at.isoformat()}" if api_token.revoked_at else ""
        created = api_token.created_at.isoformat()
        click.echo("\t".join([api_token.id, api_token.name, created, used, revoked]).rstrip())


@users_cli.command("revoke-token")
@click.argument("token_id")
def users_revoke_token(token_id: str) -> None:
    """Revoke an API token by its id (see `users tokens`); it stops working at once."""
    try:
        api_token = revoke_token(get_token(token_id))
    except ServiceError as error:
        raise click.BadParameter(error.message, param_hint="TOKEN_ID") from None
    db.session.commit()
    click.echo(f"revoked {api_token.id} ({api_token.name})")
