"""Forgotten passwords: a mailed link, valid RESET_MINUTES and once, to choose a new one.

Asking for one answers the same whatever the address, and does the same work: the
request only queues a job with the address, and the job looks it up and mails a link
if the address belongs to an active user. So neither the answer nor its timing says
whether an address is known. The link is bound to a fingerprint of the current
password hash: setting any new password (with this link or otherwise) ends it.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import User
from webapp.queue import get_queue
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import Conflict
from webapp.services.system_mail import Delivered
from webapp.services.team.links import password_fingerprint, read_reset_token
from webapp.services.team.mails import send_reset_mail
from webapp.services.users import UserError, get_user_by_email, normalise_email, set_password

RESET_MINUTES = 30
# The longest address a job is queued for; anything longer is no user's.
MAX_EMAIL_LENGTH = 320

log = logging.getLogger("webapp.team")


class ResetState(StrEnum):
    """What a reset link is worth now."""

    OPEN = "open"
    INVALID = "invalid"
    USED = "used"  # the password changed since the link was made (by it, or otherwise)
    EXPIRED = "expired"
    INACTIVE = "inactive"  # the user was deactivated


@dataclass(frozen=True)
class ResetLink:
    state: ResetState
    user: User | None = None


class ResetClosed(Conflict):
    """The reset link no longer works; `state` says why."""

    def __init__(self, state: ResetState) -> None:
        super().__init__(_("This link no longer works."), code=f"reset_{state}")
        self.state = state


def request_password_reset(email: str) -> None:
    """Queue the reset mail for this address (sent only if it is an active user's)."""
    email = normalise_email(email)
    if not email or len(email) > MAX_EMAIL_LENGTH:
        return
    try:
        get_queue().enqueue("send_password_reset", email)
    except Exception:  # Redis away: no mail, and still the same answer to the asker
        log.exception("could not queue a password reset mail")


def send_password_reset(email: str, now: datetime) -> Delivered | None:
    """Mail a reset link if the address is an active user's; None (and nothing) otherwise."""
    user = get_user_by_email(email)
    if user is None or not user.active:
        return None
    return send_reset_mail(user, now, RESET_MINUTES)


def read_reset_link(token: str, now: datetime, lock: bool = False) -> ResetLink:
    """What this link is worth now, and whose it is when it is ours."""
    found = read_reset_token(token)
    if found is None:
        return ResetLink(ResetState.INVALID)
    user_id, fingerprint, issued = found
    query = db.select(User).where(User.id == user_id)
    if lock:
        query = query.with_for_update()  # two tabs using one link: the second finds it used
    user = db.session.execute(query).scalar_one_or_none()
    if user is None:
        return ResetLink(ResetState.INVALID)
    if not user.active:
        return ResetLink(ResetState.INACTIVE, user)
    if not hmac.compare_digest(password_fingerprint(user), fingerprint):
        return ResetLink(ResetState.USED, user)
    if now - issued > timedelta(minutes=RESET_MINUTES):
        return ResetLink(ResetState.EXPIRED, user)
    return ResetLink(ResetState.OPEN, user)


def reset_password(token: str, password: str, password_repeat: str, now: datetime) -> User:
    """Set the new password; the link is used up and every login of the user ends.

    Raises ResetClosed when the link no longer works, UserError naming a field otherwise.
    """
    link = read_reset_link(token, now, lock=True)
    user = link.user
    if link.state != ResetState.OPEN or user is None:
        raise ResetClosed(link.state)
    if password != password_repeat:
        raise UserError("password_repeat", _("the two passwords differ"))
    set_password(user, password)
    user.last_login_at = now
    record_action(AuditAction.PASSWORD_RESET, "user", user.id, user.id, {"email": user.email})
    db.session.flush()
    return user
