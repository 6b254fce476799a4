"""`flask users ...`: people, invitations, their passwords and their API tokens.

`users invite` prints where the mail went. Without a mail server (MAIL_SERVER unset) it
went to the outbox on this machine, and the command prints the link too: whoever runs it
can read that outbox anyway, and may have no other way to pass the link on. With a mail
server the link goes to the invitee's mailbox only.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Invitation, User
from webapp.models.users import ROLES
from webapp.services import two_factor
from webapp.services.errors import ServiceError
from webapp.services.system_mail import Delivered
from webapp.services.team import (
    cancel_invitation,
    invitation_url,
    invite,
    list_open_invitations,
    open_invitation_for,
    resend_invitation,
)
from webapp.services.users import (
    UserError,
    create_user,
    get_token,
    get_user_by_email,
    issue_token,
    list_tokens,
    list_users,
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


def _update(user: User, role: str | None = None, active: bool | None = None) -> User:
    """update_user, with a refusal (the last active admin) as a clean error."""
    try:
        return update_user(user, role=role, active=active)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None


@users_cli.command("list")
def users_list() -> None:
    """Users and open invitations: address, role, status, last login."""
    for user in list_users():
        status = "active" if user.active else "deactivated"
        last = user.last_login_at.isoformat() if user.last_login_at else "never"
        click.echo("\t".join([user.email, user.role, status, last]))
    now = utcnow()
    for invitation in list_open_invitations():
        status = "invitation expired" if invitation.expired(now) else "invited"
        click.echo("\t".join([invitation.email, invitation.role, status, "never"]))


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
def users_set_role(email: str, role: str) -> None:
    """Change a user's role (there is always at least one active admin)."""
    user = _update(_user(email), role=role)
    db.session.commit()
    click.echo(f"{user.email} is now {user.role}")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Stop a user: their logins end and their API tokens are revoked."""
    user = _update(_user(email), active=False)
    db.session.commit()
    click.echo(f"deactivated {user.email}")


@users_cli.command("activate")
@click.argument("email")
def users_activate(email: str) -> None:
    """Let a deactivated user log in again (their old API tokens stay revoked)."""
    user = _update(_user(email), active=True)
    db.session.commit()
    click.echo(f"activated {user.email}")


def _report(invitation: Invitation, delivered: Delivered) -> None:
    if delivered.via == "outbox":
        click.echo(
            f"no mail server set (MAIL_SERVER): the mail is in the outbox ({delivered.name})"
        )
        click.echo(f"link (works once, until {invitation.expires_at.isoformat()}):")
        click.echo(invitation_url(invitation))
    else:
        click.echo(f"mailed to {invitation.email}")


def _open_invitation(email: str) -> Invitation:
    invitation = open_invitation_for(email)
    if invitation is None:
        raise click.BadParameter(f"no open invitation for {email}", param_hint="EMAIL")
    return invitation


@users_cli.command("invite")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
def users_invite(email: str, role: str) -> None:
    """Invite an address: it gets a mail with a link to choose a name and a password."""
    try:
        invitation, delivered = invite(email, role, None, utcnow())
    except UserError as error:
        raise click.BadParameter(error.message, param_hint=error.field) from None
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"invited {invitation.email} as {invitation.role}")
    _report(invitation, delivered)


@users_cli.command("resend-invitation")
@click.argument("email")
def users_resend_invitation(email: str) -> None:
    """Mail the invitation again with a new link; the earlier link stops working."""
    invitation = _open_invitation(email)
    try:
        delivered = resend_invitation(invitation, None, utcnow())
    except ServiceError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    _report(invitation, delivered)


@users_cli.command("cancel-invitation")
@click.argument("email")
def users_cancel_invitation(email: str) -> None:
    """Cancel the open invitation of an address; its link stops working."""
    invitation = cancel_invitation(_open_invitation(email), None, utcnow())
    db.session.commit()
    click.echo(f"canceled the invitation of {invitation.email}")


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
