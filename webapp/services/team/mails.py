"""The team's mails, in the recipient's language: their own choice, else the app default.

Each has a text part and an HTML part, rendered from templates/system_mail/.
"""

from __future__ import annotations

from datetime import datetime

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.i18n import LANGUAGES, default_locale
from webapp.models import Invitation, User
from webapp.services.system_mail import Delivered, send_system_mail
from webapp.services.team.links import invitation_url, reset_url

# The roles as an invitation names them.
ROLE_NAMES = {"admin": _l("admin"), "marketer": _l("marketer"), "manager": _l("manager")}


def role_name(role: str) -> str:
    """A role as people read it, in the current language."""
    return str(ROLE_NAMES.get(role, role))


def mail_locale(user: User | None = None) -> str:
    """The recipient's own language when known, else the app's default (Dutch)."""
    chosen = user.locale if user is not None else None
    return chosen if chosen in LANGUAGES else default_locale()


def _send(to: str, subject: str, template: str, locale: str, **context: object) -> Delivered:
    context.update(subject=subject, locale=locale)
    text = render_template(f"system_mail/{template}.txt", **context)
    html = render_template(f"system_mail/{template}.html", **context)
    return send_system_mail(to, subject, text, html)


def send_invitation_mail(invitation: Invitation, inviter: User | None) -> Delivered:
    """The invitation with its link (valid until `expires_at`, once)."""
    locale = mail_locale()
    with force_locale(locale):
        return _send(
            invitation.email,
            _("You are invited to Punthelder Campaigns"),
            "invitation",
            locale,
            link=invitation_url(invitation),
            inviter=(inviter.name or inviter.email) if inviter is not None else "",
            role=role_name(invitation.role),
            expires_at=invitation.expires_at,
        )


def send_reset_mail(user: User, now: datetime, minutes: int) -> Delivered:
    """The link to choose a new password (valid `minutes` from `now`, once)."""
    locale = mail_locale(user)
    with force_locale(locale):
        return _send(
            user.email,
            _("Choose a new password for Punthelder Campaigns"),
            "password_reset",
            locale,
            link=reset_url(user, now),
            minutes=minutes,
        )
