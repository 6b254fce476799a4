"""Users, passwords, login sessions and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.database import utcnow
from webapp.extensions import db
from webapp.formats import thousands
from webapp.i18n import LANGUAGES
from webapp.models import ApiToken, User
from webapp.models.users import ROLES, Role, new_session_token
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import Conflict, InvalidInput, NotFound
from webapp.services.passwords import password_problem

TOKEN_PREFIX = "cdt_"
# A token's last use is written at most this often: an API client calling many times a
# second must not become a write per call.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)

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


def _checked_password(password: str, email: str) -> str:
    problem = password_problem(password, email)
    if problem is not None:
        raise UserError("password", problem)
    return generate_password_hash(password)


def create_user(email: str, password: str, role: str, name: str = "") -> User:
    """Add a user with a hashed password; the caller commits."""
    email = normalise_email(email)
    if "@" not in email:
        raise UserError("email", _("not an email address"))
    if role not in ROLES:
        raise UserError("role", _("must be one of %(choices)s", choices=", ".join(ROLES)))
    password_hash = _checked_password(password, email)
    if get_user_by_email(email) is not None:
        raise UserError("email", _("a user with this address exists"))
    user = User(email=email, name=name, role=role, password_hash=password_hash)
    db.session.add(user)
    db.session.flush()
    return user


def get_user_by_email(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def get_user(user_id: str) -> User:
    """The user with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("no such user"))
    return user


def list_users() -> list[User]:
    return list(db.session.execute(db.select(User).order_by(User.email)).scalars())


def authenticate(email: str, password: str) -> User | None:
    """The active user with this address and password, else None.

    Not yet a login: a user with two-factor sign-in still owes a code (`record_login`
    notes the login once it is one).
    """
    user = get_user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def record_login(user: User) -> None:
    """Note that the user logged in, now."""
    user.last_login_at = utcnow()


def user_for_session(session_id: str) -> User | None:
    """The active user a login session belongs to (see `User.get_id`), else None."""
    user_id, _, session_token = session_id.partition(":")
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.active or not session_token:
        return None
    if not hmac.compare_digest(user.session_token, session_token):
        return None  # a session from before a logout, password change or deactivation
    return user


def end_login_sessions(user: User) -> None:
    """Make every login session of this user unusable, wherever its cookie went."""
    user.session_token = new_session_token()


def set_password(user: User, password: str) -> None:
    """Change the password; every login session of the user ends. The caller commits."""
    user.password_hash = _checked_password(password, user.email)
    end_login_sessions(user)


class WrongPassword(UserError):
    """The current password given to change it was not the user's."""


def change_password(user: User, current: str, new: str, repeated: str) -> None:
    """Change one's own password, proving the current one; every login session ends (the
    caller logs its own in again). Recorded; the caller commits."""
    if not check_password_hash(user.password_hash, current):
        raise WrongPassword("current_password", _("this is not your current password"))
    if new != repeated:
        raise UserError("new_password_again", _("does not match the new password"))
    if check_password_hash(user.password_hash, new):
        raise UserError("new_password", _("must differ from the current password"))
    problem = password_problem(new, user.email)
    if problem is not None:
        raise UserError("new_password", problem)
    set_password(user, new)
    record_action(AuditAction.USER_PASSWORD_CHANGED, "user", user.id, user.id)


def update_user(
    user: User, *, acting: User | None = None, role: str | None = None, active: bool | None = None
) -> User:
    """Change a user's role or active flag; deactivation ends their logins and tokens.

    There is always at least one active admin: a change that would leave none is refused
    (Conflict) and nothing changes. Each change is recorded in the audit trail.
    """
    if acting is not None and acting.id == user.id:
        # An admin locking themselves out (or demoting the last admin) needs another admin.
        raise Conflict(_("you cannot change your own role or deactivate yourself"))
    if role is not None and role not in ROLES:
        raise UserError("role", _("must be one of %(choices)s", choices=", ".join(ROLES)))
    _keep_an_active_admin(user, role, active)
    acting_id = acting.id if acting is not None else None
    if role is not None and role != user.role:
        details = {"email": user.email, "from": user.role, "to": role}
        user.role = role
        record_action(AuditAction.USER_ROLE_CHANGED, "user", user.id, acting_id, details)
    if active is not None and active != user.active:
        user.active = active
        if not active:
            end_login_sessions(user)
            revoke_all_tokens(user)
        action = AuditAction.USER_REACTIVATED if active else AuditAction.USER_DEACTIVATED
        record_action(action, "user", user.id, acting_id, {"email": user.email})
    db.session.flush()
    return user


def _keep_an_active_admin(user: User, role: str | None, active: bool | None) -> None:
    """Refuse a change that would leave no active admin.

    Every active admin's row is locked first (PostgreSQL), so two admins demoting each
    other at the same moment cannot both pass: the second waits, then finds itself alone.
    """
    if not (user.role == Role.ADMIN and user.active):
        return
    stays = (role is None or role == Role.ADMIN) and (active is None or active)
    if stays:
        return
    admins = db.session.execute(
        db.select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
    ).scalars()
    if not any(admin_id != user.id for admin_id in admins):
        raise Conflict(
            _("There must always be an active admin: make someone else an admin first."),
            code="last_admin",
        )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str = "") -> str:
    """Create an API token and return it; only its hash is stored, so it is shown once."""
    return create_token(user, name)[1]


def create_token(user: User, name: str = "", by_id: str | None = None) -> tuple[ApiToken, str]:
    """Create an API token: the row and the token, shown once (only its hash is stored).

    Recorded as done by `by_id` (None: from the command line)."""
    name = name.strip()
    if len(name) > 200:
        raise UserError("name", _("must be at most %(max)s characters", max=thousands(200)))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken(user_id=user.id, token_hash=_hash_token(token), name=name)
    db.session.add(api_token)
    db.session.flush()
    record_action(AuditAction.USER_TOKEN_CREATED, "user", user.id, by_id, {"token": name})
    return api_token, token


def list_tokens(user: User, active_only: bool = False) -> list[ApiToken]:
    """The user's API tokens, newest first, revoked ones included unless `active_only`."""
    query = db.select(ApiToken).where(ApiToken.user_id == user.id)
    if active_only:
        query = query.where(ApiToken.revoked_at.is_(None))
    order = (ApiToken.created_at.desc(), ApiToken.id.desc())
    return list(db.session.execute(query.order_by(*order)).scalars())


def get_token(token_id: str, owner: User | None = None) -> ApiToken:
    """The token with this id (only among `owner`'s when given), or NotFound."""
    api_token = db.session.get(ApiToken, token_id)
    if api_token is None or (owner is not None and api_token.user_id != owner.id):
        raise NotFound(_("no such token"))
    return api_token


def revoke_token(api_token: ApiToken, by_id: str | None = None) -> ApiToken:
    """The token stops working at once; revoking twice keeps the first time (and record)."""
    if api_token.revoked_at is None:
        api_token.revoked_at = utcnow()
        record_action(
            AuditAction.USER_TOKEN_REVOKED,
            "user",
            api_token.user_id,
            by_id,
            {"token": api_token.name},
        )
    db.session.flush()
    return api_token


def revoke_all_tokens(user: User) -> int:
    """Revoke every token of the user still in force; returns how many."""
    result = db.session.execute(
        db.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def user_for_token(token: str | None) -> User | None:
    """The active user owning this unrevoked token, else None; notes when it was used."""
    if not token or len(token) > 200:
        return None
    api_token: ApiToken | None = db.session.execute(
        db.select(ApiToken).where(
            ApiToken.token_hash == _hash_token(token), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if api_token is None or not api_token.user.active:
        return None
    _note_token_use(api_token, utcnow())
    return api_token.user


def _note_token_use(api_token: ApiToken, now: datetime) -> None:
    last = api_token.last_used_at
    if last is None or now - last >= TOKEN_USE_RESOLUTION:
        api_token.last_used_at = now


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def user_to_dict(user: User) -> dict[str, object]:
    """The API's view of a user (never the password hash or the session token)."""
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "active": user.active,
        "last_login_at": _iso(user.last_login_at),
        "created_at": _iso(user.created_at),
    }


def token_to_dict(api_token: ApiToken) -> dict[str, object]:
    """The API's view of a token: never the token itself, which is shown once."""
    return {
        "id": api_token.id,
        "name": api_token.name,
        "created_at": _iso(api_token.created_at),
        "last_used_at": _iso(api_token.last_used_at),
        "revoked_at": _iso(api_token.revoked_at),
        "active": api_token.revoked_at is None,
    }


def set_locale(user: User, locale: str) -> None:
    """The user's interface language, one of webapp.i18n.LANGUAGES."""
    if locale not in LANGUAGES:
        raise InvalidInput(
            {"locale": _("must be one of %(choices)s", choices=", ".join(LANGUAGES))}
        )
    user.locale = locale
