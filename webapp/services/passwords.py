"""The password rules: long enough, not blank, not the address, not a well-known one."""

from __future__ import annotations

import functools
from pathlib import Path

from flask_babel import gettext as _

from webapp.formats import thousands
from webapp.services.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
_COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The vendored list of well-known passwords, lower-cased."""
    lines = _COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def password_problem(password: str, email: str = "") -> str | None:
    """Why this password may not be used, in words, or None when it may."""
    if not password.strip():
        return str(_("must not be blank"))
    if len(password) < MIN_PASSWORD_LENGTH:
        return str(_("must be at least %(count)s characters", count=thousands(MIN_PASSWORD_LENGTH)))
    folded = password.strip().lower()
    email = email.strip().lower()
    if email and folded in {email, email.partition("@")[0]}:
        return str(_("must not be the email address"))
    if len(set(folded)) == 1:
        return str(_("must not be one character repeated"))
    if folded in common_passwords():
        return str(_("is a well-known password; choose another"))
    return None


def check_password(password: str, email: str = "") -> None:
    """Raise InvalidInput naming `password` unless the password keeps the rules."""
    problem = password_problem(password, email)
    if problem is not None:
        raise InvalidInput({"password": problem}, _("This password cannot be used."))
