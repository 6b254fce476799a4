"""Two-factor sign-in: enrolment, codes taken once, recovery codes, switching off.

Every check is told the moment it happens at: the clock is turned, never waited for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD
from tests.support.two_factor import code_at, wrong_code
from webapp.extensions import db
from webapp.models import AuditEvent, RecoveryCode, User
from webapp.sealing import PREFIX
from webapp.services import two_factor
from webapp.services.errors import Conflict
from webapp.services.two_factor import CodeKind, TwoFactorError

# A step boundary (30-second steps since 1970), so `NOW + n * STEP` is step n after it.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STEP = timedelta(seconds=30)


def enabled_user(make_user: Callable[..., Any], at: datetime = NOW) -> tuple[User, str, list[str]]:
    user = make_user("marketer")
    secret = two_factor.pending_secret(user)
    codes = two_factor.enable(user, code_at(secret, at), now=at)
    db.session.commit()
    return user, secret, codes


def actions(user: User) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.subject_id == user.id)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )


def refused(call: Callable[[], object]) -> TwoFactorError:
    with pytest.raises(TwoFactorError) as caught:
        call()
    db.session.rollback()
    return caught.value


def test_enrolment_keeps_one_secret_until_the_first_code_confirms_it(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    secret = two_factor.pending_secret(user)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)  # base 32, 160 bits
    assert two_factor.pending_secret(user) == secret
    uri = two_factor.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/Punthelder%20Campaigns:")
    assert f"secret={secret}" in uri and "issuer=Punthelder%20Campaigns" in uri
    db.session.commit()
    session_token = user.session_token

    error = refused(lambda: two_factor.enable(user, code_at(secret, NOW + 5 * STEP), now=NOW))
    assert error.field == "code" and "not right" in error.message
    assert not user.two_factor_enabled

    codes = two_factor.enable(user, code_at(secret, NOW), now=NOW)
    db.session.commit()
    assert user.two_factor_enabled and user.two_factor_enabled_at == NOW
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}", c) for c in codes)
    assert user.session_token != session_token  # the other logins ended
    assert actions(user) == ["user.two_factor_enabled"]
    with pytest.raises(Conflict):
        two_factor.pending_secret(user)


def test_the_secret_is_sealed_and_recovery_codes_are_kept_as_hashes(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, secret, codes = enabled_user(make_user)
    stored = db.session.execute(
        sa.text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user.id}
    ).scalar_one()
    assert stored.startswith(PREFIX) and secret not in stored
    hashes = set(db.session.scalars(sa.select(RecoveryCode.code_hash)))
    assert len(hashes) == 10
    assert not any(code.replace("-", "") in h or code in h for code in codes for h in hashes)
    details = db.session.scalars(sa.select(AuditEvent.details)).all()
    assert secret not in str(details) and codes[0] not in str(details)


def test_a_code_is_taken_once_and_never_one_older_than_the_last(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, secret, _codes = enabled_user(make_user)  # took the code of NOW

    error = refused(lambda: two_factor.check_code(user, code_at(secret, NOW), now=NOW))
    assert error.field == "code" and "used already" in error.message

    later = NOW + STEP
    assert two_factor.check_code(user, code_at(secret, later), now=later) == CodeKind.APP
    db.session.commit()
    assert refused(lambda: two_factor.check_code(user, code_at(secret, later), now=later))
    # The code of NOW is still within a step of `later`, but older than the last one taken.
    older = refused(lambda: two_factor.check_code(user, code_at(secret, NOW), now=later))
    assert "used already" in older.message


def test_a_step_either_side_is_accepted_for_a_drifting_clock_and_no_more(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, secret, _codes = enabled_user(make_user, at=NOW - 10 * STEP)

    for off in (-2, 2):
        error = refused(
            lambda off=off: two_factor.check_code(user, code_at(secret, NOW + off * STEP), now=NOW)
        )
        assert "not right" in error.message
    assert two_factor.check_code(user, code_at(secret, NOW - STEP), now=NOW) == CodeKind.APP
    assert two_factor.check_code(user, code_at(secret, NOW + STEP), now=NOW) == CodeKind.APP
    db.session.commit()
    assert user.totp_last_step == int((NOW + STEP).timestamp()) // 30


def test_what_is_typed_is_read_leniently_but_only_codes_pass(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, secret, _codes = enabled_user(make_user, at=NOW - 10 * STEP)
    code = code_at(secret, NOW)
    assert two_factor.check_code(user, f" {code[:3]} {code[3:]} ", now=NOW) == CodeKind.APP
    assert "Type the 6-digit code" in refused(lambda: two_factor.check_code(user, "  ")).message
    fullwidth = "".join(chr(0xFF10 + int(digit)) for digit in code)  # digits, but not ASCII
    for typed in ("12345", fullwidth, "abcdef", "x" * 5000):
        assert refused(lambda typed=typed: two_factor.check_code(user, typed, now=NOW))


def test_each_recovery_code_works_once_however_it_is_typed(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, _secret, codes = enabled_user(make_user)
    typed = codes[0].upper().replace("-", " ")
    assert two_factor.check_code(user, typed, now=NOW) == CodeKind.RECOVERY
    db.session.commit()
    error = refused(lambda: two_factor.check_code(user, codes[0], now=NOW))
    assert error.field == "code" and "used already" in error.message
    # 1 and l, 0 and o are read alike: they are easy to mix up in a handwritten copy.
    code = next(c for c in codes[1:] if "1" in c or "0" in c)
    misread = code.replace("1", "l").replace("0", "O")
    assert two_factor.check_code(user, misread, now=NOW) == CodeKind.RECOVERY
    db.session.commit()
    assert two_factor.remaining_recovery_codes(user) == 8
    used = db.session.scalars(
        sa.select(AuditEvent.details).where(AuditEvent.action == "user.recovery_code_used")
    ).all()
    assert [d["remaining"] for d in used] == [9, 8]


def test_new_recovery_codes_replace_every_old_one_after_a_code(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, secret, codes = enabled_user(make_user)
    later = NOW + 4 * STEP
    wrong = wrong_code(secret, later)
    assert refused(lambda: two_factor.regenerate_recovery_codes(user, wrong, now=later))
    session_token = user.session_token

    new = two_factor.regenerate_recovery_codes(user, code_at(secret, later), now=later)
    db.session.commit()
    assert len(set(new)) == 10 and not set(new) & set(codes)
    assert user.session_token != session_token
    assert refused(lambda: two_factor.check_code(user, codes[1], now=later))
    assert two_factor.check_code(user, new[1], now=later) == CodeKind.RECOVERY
    assert actions(user)[-2:] == ["user.recovery_codes_regenerated", "user.recovery_code_used"]


def test_switching_off_takes_the_password_and_a_code(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, secret, codes = enabled_user(make_user)
    later = NOW + 4 * STEP

    error = refused(lambda: two_factor.disable(user, "not the password", codes[0], now=later))
    assert error.field == "password"
    assert two_factor.remaining_recovery_codes(user) == 10  # a wrong password uses up no code
    wrong = wrong_code(secret, later)
    error = refused(lambda: two_factor.disable(user, PASSWORD, wrong, now=later))
    assert error.field == "code"
    assert user.two_factor_enabled

    session_token = user.session_token
    two_factor.disable(user, PASSWORD, code_at(secret, later), now=later)
    db.session.commit()
    assert not user.two_factor_enabled
    assert user.totp_secret is None and user.totp_last_step is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0
    assert user.session_token != session_token
    assert actions(user)[-1] == "user.two_factor_disabled"
    with pytest.raises(Conflict):
        two_factor.check_code(user, codes[1], now=later)
    # Setting it up again makes a new secret.
    assert two_factor.pending_secret(user) != secret


def test_an_operator_reset_switches_it_off_and_says_when_there_was_nothing(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    user, _secret, _codes = enabled_user(make_user)
    assert two_factor.reset(user) is True
    db.session.commit()
    assert not user.two_factor_enabled and user.totp_secret is None
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset")
    ).one()
    assert event.user_id is None and event.subject_id == user.id
    assert two_factor.reset(user) is False


@pytest.mark.sqlite
def test_codes_are_taken_once_on_the_embedded_sqlite_default_too(sqlite_app: Flask) -> None:
    from webapp.services.users import create_user

    user = create_user("els@punthelder.nl", PASSWORD, "admin")
    secret = two_factor.pending_secret(user)
    codes = two_factor.enable(user, code_at(secret, NOW), now=NOW)
    db.session.commit()
    assert refused(lambda: two_factor.check_code(user, code_at(secret, NOW), now=NOW))
    later = NOW + STEP
    assert two_factor.check_code(user, code_at(secret, later), now=later) == CodeKind.APP
    assert two_factor.check_code(user, codes[0], now=later) == CodeKind.RECOVERY
    db.session.commit()
    assert refused(lambda: two_factor.check_code(user, codes[0], now=later))
    assert two_factor.remaining_recovery_codes(user) == 9
