"""Two-factor sign-in in tests: enrol a user at a chosen moment, make codes like an app."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pyotp

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import User
from webapp.services import two_factor


def code_at(secret: str, moment: datetime) -> str:
    """What an authenticator app with this secret shows at `moment`."""
    return pyotp.TOTP(secret).at(moment)


def enrol(user: User, at: datetime | None = None) -> tuple[str, list[str]]:
    """Two-factor on for the user, set up ten minutes ago unless told when (so the app's
    code of now is new to it); the secret and the recovery codes. Commits."""
    at = at or utcnow() - timedelta(minutes=10)
    secret = two_factor.pending_secret(user)
    codes = two_factor.enable(user, code_at(secret, at), now=at)
    db.session.commit()
    return secret, codes


def fresh_code(user: User, secret: str) -> str:
    """A code the app shows now or one step on: newer than any the user has used, and
    within the step either side that the server accepts, however the clock turns."""
    db.session.refresh(user)
    totp = pyotp.TOTP(secret)
    step = max(totp.timecode(time.time()), (user.totp_last_step or 0) + 1)
    return totp.generate_otp(step)


def wrong_code(secret: str, moment: datetime | None = None) -> str:
    """Six digits that are no code of the step at `moment` (now) or either side of it."""
    totp = pyotp.TOTP(secret)
    step = totp.timecode(moment or time.time())
    taken = {totp.generate_otp(step + offset) for offset in range(-2, 3)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in taken)
