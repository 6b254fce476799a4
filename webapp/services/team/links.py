"""The signed links in team mails: accepting an invitation, resetting a password.

Each purpose has its own salt, so a token made for one never verifies as the other (nor
as a tracking token). Payloads are readable (base64 JSON), so they carry ids and
fingerprints only, never a secret. What makes a link single-use lives in the database:
an invitation's nonce (a resend draws a new one, acceptance closes it) and a fingerprint
of the user's password hash (any new password, this link's own included, ends it).
"""

from __future__ import annotations

import functools
import hashlib
import re
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import URLSafeSerializer
from itsdangerous.encoding import want_bytes

from webapp.models import Invitation, User

INVITATION = "team.invitation"
PASSWORD_RESET = "team.password-reset"
MAX_TOKEN_LENGTH = 300

_ID = re.compile(r"[0-9a-f]{32}")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-.]+")


def _serializer(purpose: str) -> URLSafeSerializer:
    config = current_app.config
    # Signed with the last key, verified with each: links survive a SECRET_KEY rotation.
    keys = (*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"])
    return _cached_serializer(purpose, keys)


@functools.lru_cache(maxsize=16)
def _cached_serializer(purpose: str, keys: tuple[str | bytes, ...]) -> URLSafeSerializer:
    return URLSafeSerializer([want_bytes(key) for key in keys], salt=purpose)


def _load(purpose: str, token: object) -> list[object] | None:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    if _TOKEN_CHARS.fullmatch(token) is None:
        return None
    try:
        payload: object = _serializer(purpose).loads(token)
    except Exception:  # a bad signature, bad base64, bad JSON: all just "not a link"
        return None
    return payload if isinstance(payload, list) else None


def _base() -> str:
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")


def invitation_token(invitation: Invitation) -> str:
    return _serializer(INVITATION).dumps([invitation.id, invitation.nonce])


def read_invitation_token(token: object) -> tuple[str, str] | None:
    """(invitation id, nonce) of a genuine invitation link, else None."""
    payload = _load(INVITATION, token)
    if payload is None or len(payload) != 2:
        return None
    invitation_id, nonce = payload
    if not isinstance(invitation_id, str) or not _ID.fullmatch(invitation_id):
        return None
    return (invitation_id, nonce) if isinstance(nonce, str) else None


def invitation_url(invitation: Invitation) -> str:
    return f"{_base()}/invite/{invitation_token(invitation)}"


def password_fingerprint(user: User) -> str:
    """Changes with every new password (each hash has its own salt); says nothing of it."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def reset_token(user: User, now: datetime) -> str:
    issued = int(now.timestamp())
    return _serializer(PASSWORD_RESET).dumps([user.id, password_fingerprint(user), issued])


def read_reset_token(token: object) -> tuple[str, str, datetime] | None:
    """(user id, password fingerprint, issued at) of a genuine reset link, else None."""
    payload = _load(PASSWORD_RESET, token)
    if payload is None or len(payload) != 3:
        return None
    user_id, fingerprint, issued = payload
    if not isinstance(user_id, str) or not _ID.fullmatch(user_id):
        return None
    if not isinstance(fingerprint, str) or type(issued) is not int:
        return None
    return user_id, fingerprint, datetime.fromtimestamp(issued, UTC)


def reset_url(user: User, now: datetime) -> str:
    return f"{_base()}/password/reset/{reset_token(user, now)}"
