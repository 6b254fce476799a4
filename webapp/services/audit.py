"""A record of who did what, for actions an admin may have to account for."""

from __future__ import annotations

from typing import Any

from webapp.extensions import db
from webapp.models import AuditEvent

# Never written to the record, whatever the caller passes.
_SECRET_KEYS = frozenset({"smtp_password", "imap_password", "password", "dkim_private_key"})


def record_action(
    action: str,
    subject_type: str,
    subject_id: str | None,
    user_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event (secrets in `details` are reduced to "changed"); the caller commits."""
    safe = {
        key: ("changed" if key in _SECRET_KEYS else value) for key, value in (details or {}).items()
    }
    event = AuditEvent(
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        user_id=user_id,
        details=safe,
    )
    db.session.add(event)
    return event
