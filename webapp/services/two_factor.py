"""Two-factor sign-in: codes from an authenticator app, and single-use recovery codes.

A user enrols by putting a secret into an authenticator app (a QR code, or the secret
typed in) and confirming with the first code it shows; from then on a correct password
alone signs nobody in. Codes follow RFC 6238 as every authenticator app speaks it
(30-second steps, 6 digits, HMAC-SHA1). One step either side is accepted for a phone
whose clock drifts, and the step of every accepted code is kept, so a code is never
taken twice, nor one older than the last. Ten recovery codes, shown once, each stand in
for the app once (a lost phone); an operator can switch two-factor off for a user who
has lost both (`flask users reset-two-factor`).

Functions that check a code take the moment to check it at (`now`), so tests turn the
clock instead of waiting for it. The caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

import pyotp
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified
from werkzeug.security import check_password_hash

from webapp.database import affected_rows, utcnow
from webapp.extensions import db
from webapp.models import RecoveryCode, User
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import Conflict, InvalidInput
from webapp.services.users import end_login_sessions

# The name an authenticator app lists the account under, before the address.
ISSUER = "Punthelder Campaigns"
STEP_SECONDS = 30
# Steps either side of now whose code is still accepted: a phone's clock may drift.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# Crockford's base 32 (no i, l, o or u): 16 characters are 80 random bits, read aloud or
# copied by hand without mixing up 1 and l or 0 and o.
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_RECOVERY_LENGTH = 16
_READ_AS = str.maketrans({"i": "1", "l": "1", "o": "0"})


class TwoFactorError(InvalidInput):
    """A code or password that does not do; `field` names which (a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: message}, message)
        self.field = field


class CodeKind(StrEnum):
    """Which kind of code got a user in."""

    APP = "app"
    RECOVERY = "recovery"


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, interval=STEP_SECONDS)


def pending_secret(user: User) -> str:
    """The secret being enrolled: made on the first call, the same until enrolment ends."""
    if user.two_factor_enabled:
        raise Conflict(_("Two-factor sign-in is on already."))
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """The `otpauth://` address an authenticator app reads from the QR code."""
    return _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def enable(user: User, code: str, now: datetime | None = None) -> list[str]:
    """Switch two-factor on once the app's first code proves the secret arrived.

    Returns the recovery codes, to be shown once. Every login session of the user ends.
    """
    now = now or utcnow()
    if user.two_factor_enabled:
        raise Conflict(_("Two-factor sign-in is on already."))
    secret = user.totp_secret
    if not secret:
        raise Conflict(_("The setup expired. Open the two-factor page again for a new code."))
    step = _matching_step(secret, _normalise(code), now)
    if step is None:
        raise TwoFactorError("code", _wrong_app_code())
    user.totp_last_step = step
    user.two_factor_enabled_at = now
    codes = _replace_recovery_codes(user, now)
    end_login_sessions(user)
    record_action(AuditAction.USER_TWO_FACTOR_ENABLED, "user", user.id, user.id)
    return codes


def check_code(user: User, code: str, now: datetime | None = None) -> CodeKind:
    """Take a code from the app or a recovery code of this user, each at most once.

    Raises TwoFactorError saying what was wrong: no code, a wrong one, one used already.
    """
    now = now or utcnow()
    if not user.two_factor_enabled:
        raise Conflict(_("Two-factor sign-in is off."))
    entered = _normalise(code)
    if not entered:
        raise TwoFactorError("code", _("Type the 6-digit code from your app, or a recovery code."))
    if _looks_like_app_code(entered):
        _take_app_code(user, entered, now)
        return CodeKind.APP
    if not _take_recovery_code(user, entered, now):
        raise TwoFactorError(
            "code", _("That is not one of your recovery codes, or it was used already.")
        )
    record_action(
        AuditAction.USER_RECOVERY_CODE_USED,
        "user",
        user.id,
        user.id,
        {"remaining": remaining_recovery_codes(user)},
    )
    return CodeKind.RECOVERY


def regenerate_recovery_codes(user: User, code: str, now: datetime | None = None) -> list[str]:
    """New recovery codes for old ones (all of them stop working), after a code proves
    it is the user; to be shown once. Every login session of the user ends."""
    now = now or utcnow()
    if not user.two_factor_enabled:
        raise Conflict(_("Two-factor sign-in is off."))
    check_code(user, code, now)
    codes = _replace_recovery_codes(user, now)
    end_login_sessions(user)
    record_action(AuditAction.USER_RECOVERY_CODES_REGENERATED, "user", user.id, user.id)
    return codes


def disable(user: User, password: str, code: str, now: datetime | None = None) -> None:
    """Switch two-factor off, after the password and a code; every login session ends."""
    now = now or utcnow()
    if not user.two_factor_enabled:
        raise Conflict(_("Two-factor sign-in is off already."))
    # The password first: a wrong one must not use up a recovery code.
    if not check_password_hash(user.password_hash, password):
        raise TwoFactorError("password", _("That is not your password."))
    check_code(user, code, now)
    _switch_off(user)
    record_action(AuditAction.USER_TWO_FACTOR_DISABLED, "user", user.id, user.id)


def reset(user: User) -> bool:
    """An operator switches two-factor off for a user who lost their phone and their
    recovery codes; every login session ends. False when it was not on (nor being set up)."""
    if not user.two_factor_enabled and not user.totp_secret:
        return False
    _switch_off(user)
    record_action(AuditAction.USER_TWO_FACTOR_RESET, "user", user.id, None, {"by": "operator"})
    return True


def remaining_recovery_codes(user: User) -> int:
    """How many of the user's recovery codes are still unused."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def reseal_secrets() -> int:
    """Seal every two-factor secret again under the current SECRET_KEY; how many."""
    count = 0
    for user in db.session.scalars(sa.select(User).where(User.totp_secret.is_not(None))):
        if user.totp_secret:
            flag_modified(user, "totp_secret")  # written again, so sealed with the current key
            count += 1
    return count


def _normalise(code: str) -> str:
    """What people type, as compared: no spaces or dashes, lower case."""
    return "".join(code.split()).replace("-", "").lower()


def _looks_like_app_code(entered: str) -> bool:
    return len(entered) == 6 and entered.isascii() and entered.isdigit()


def _wrong_app_code() -> str:
    return str(
        _(
            "That code is not right. Type the 6 digits your app shows now; if it keeps "
            "failing, check that your phone sets its clock automatically."
        )
    )


def _matching_step(secret: str, entered: str, now: datetime) -> int | None:
    """The time step within the window whose code this is, else None."""
    if not _looks_like_app_code(entered):
        return None
    try:
        return _totp(secret).verify_and_get_timecode(
            entered, for_time=now, valid_window=VALID_WINDOW
        )
    except pyotp.OTPVerificationError:
        return None


def _take_app_code(user: User, entered: str, now: datetime) -> None:
    secret = user.totp_secret  # None when no key opens it any more (README, SECRET_KEY)
    step = _matching_step(secret, entered, now) if secret else None
    if step is None:
        raise TwoFactorError("code", _wrong_app_code())
    # One conditional UPDATE: two requests carrying the same code cannot both pass.
    taken = db.session.execute(
        sa.update(User)
        .where(
            User.id == user.id,
            sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    if affected_rows(taken) != 1:
        raise TwoFactorError("code", _("That code was used already. Wait for the next one."))


def _take_recovery_code(user: User, entered: str, now: datetime) -> bool:
    if len(entered) != _RECOVERY_LENGTH:
        return False
    taken = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(entered.translate(_READ_AS)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(taken) == 1


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def _replace_recovery_codes(user: User, now: datetime) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=_hash(_normalise(code)), created_at=now)
        for code in codes
    )
    return codes


def _switch_off(user: User) -> None:
    user.totp_secret = None
    user.two_factor_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_login_sessions(user)
