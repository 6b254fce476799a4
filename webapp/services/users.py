"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from webapp.database import utcnow
from webapp.extensions import db
from webapp.i18n import LANGUAGES
from webapp.models import ApiToken, User
from webapp.models.users import ROLES
from webapp.services.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "cdt_"

# Compared against when the address is unknown, so a wrong address and a wrong
# password take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class UserError(InvalidInput):
    """Invalid input for a user; `field` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: message}, message)
        self.field = field


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(email: str, password: str, role: str, name: str = "") -> User:
    """Add a user with a hashed password; the caller commits."""
    email = normalise_email(email)
    if "@" not in email:
        raise UserError("email", "not an email address")
    if role not in ROLES:
        raise UserError("role", f"must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if get_user_by_email(email) is not None:
        raise UserError("email", "a user with this address exists")
    user = User(email=email, name=name, role=role, password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.flush()
    return user


def get_user_by_email(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def authenticate(email: str, password: str) -> User | None:
    """The active user with this address and password, else None."""
    user = get_user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str = "") -> str:
    """Create an API token and return it; only its hash is stored, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), name=name))
    db.session.flush()
    return token


def user_for_token(token: str | None) -> User | None:
    """The active user owning this unrevoked token, else None."""
    if not token or len(token) > 200:
        return None
    api_token: ApiToken | None = db.session.execute(
        db.select(ApiToken).where(
            ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if api_token is None or not api_token.user.active:
        return None
    return api_token.user


def set_locale(user: User, locale: str) -> None:
    """The user's interface language, one of webapp.i18n.LANGUAGES."""
    if locale not in LANGUAGES:
        raise InvalidInput({"locale": f"must be one of {', '.join(LANGUAGES)}"})
    user.locale = locale
