"""A record of who did what, for actions an admin may have to account for."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from webapp.extensions import db
from webapp.models import AuditEvent


class AuditAction(StrEnum):
    """Every action the audit trail records (`audit_events.action`), one name each."""

    CAMPAIGN_CREATED = "campaign.created"
    CAMPAIGN_UPDATED = "campaign.updated"
    # `campaign.<lifecycle action>`
    CAMPAIGN_START = "campaign.start"
    CAMPAIGN_PAUSE = "campaign.pause"
    CAMPAIGN_RESUME = "campaign.resume"
    CAMPAIGN_STOP = "campaign.stop"
    CAMPAIGN_REOPENED = "campaign.reopened"
    CAMPAIGN_DUPLICATED = "campaign.duplicated"
    CAMPAIGN_DELETED = "campaign.deleted"
    CAMPAIGN_ARCHIVED = "campaign.archived"
    CAMPAIGN_UNARCHIVED = "campaign.unarchived"
    # An admin started a campaign whose domains failed SPF, DKIM, DMARC or the tracking host.
    CAMPAIGN_DNS_OVERRIDE = "campaign.dns_override"
    CAMPAIGN_WINNER = "campaign.winner"
    DOMAIN_UPDATED = "domain.updated"
    DOMAIN_PAUSED = "domain.paused"
    # DKIM keys (webapp/services/deliverability): made, imported, and a rotation finished.
    DKIM_GENERATED = "domain.dkim_generated"
    DKIM_IMPORTED = "domain.dkim_imported"
    DKIM_ACTIVATED = "domain.dkim_activated"
    LEAD_STOPPED = "lead.stopped"
    LEAD_UNSTOPPED = "lead.unstopped"
    LEAD_DELETED = "lead.deleted"
    LEAD_RESTORED = "lead.restored"
    LEAD_EDITED = "lead.edited"
    # A lead file imported into a list (page, API, command line or its background job).
    LEADS_IMPORTED = "leads.imported"
    LEADS_IMPORT_FAILED = "leads.import_failed"
    # `leads.bulk_<bulk action>`
    LEADS_BULK_STOP = "leads.bulk_stop"
    LEADS_BULK_UNSTOP = "leads.bulk_unstop"
    LEADS_BULK_DELETE = "leads.bulk_delete"
    LEADS_BULK_RESTORE = "leads.bulk_restore"
    LEADS_BULK_MOVE = "leads.bulk_move"
    MESSAGE_RESENT = "message.resent"
    # `message.decided_<decision>`
    MESSAGE_DECIDED_SENT = "message.decided_sent"
    MESSAGE_DECIDED_RESEND = "message.decided_resend"
    SUPPRESSION_ADDED = "suppression.added"
    SUPPRESSION_REMOVED = "suppression.removed"
    TEMPLATE_CREATE = "template.create"
    TEMPLATE_UPDATE = "template.update"
    # A step of a template sent to the person themself, never tracked or counted.
    TEMPLATE_TEST_MAIL = "template.test_mail"
    # The team: invitations, roles, who may log in
    INVITATION_SENT = "invitation.sent"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_CANCELED = "invitation.canceled"
    INVITATION_ACCEPTED = "invitation.accepted"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    PASSWORD_RESET = "user.password_reset"
    # Two-factor sign-in (webapp/services/two_factor.py)
    USER_TWO_FACTOR_ENABLED = "user.two_factor_enabled"
    USER_TWO_FACTOR_DISABLED = "user.two_factor_disabled"
    USER_RECOVERY_CODES_REGENERATED = "user.recovery_codes_regenerated"
    USER_RECOVERY_CODE_USED = "user.recovery_code_used"
    USER_TWO_FACTOR_RESET = "user.two_factor_reset"
    # A person's own account: their password and their API tokens.
    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_TOKEN_CREATED = "user.token_created"
    USER_TOKEN_REVOKED = "user.token_revoked"


# Never written to the record, whatever the caller passes.
_SECRET_KEYS = frozenset(
    {
        "smtp_password",
        "imap_password",
        "password",
        "dkim_private_key",
        "dkim_pending_private_key",
        "totp_secret",
        "code",
    }
)
# Nor anything whose name says it is one (checked again when the trail is shown).
_SECRET_WORDS = ("password", "secret", "private_key", "token_hash", "session_token")


def is_secret_key(key: str) -> bool:
    """Whether a detail of this name may hold a secret, whose value is never recorded."""
    folded = key.lower()
    return folded in _SECRET_KEYS or any(word in folded for word in _SECRET_WORDS)


def record_action(
    action: AuditAction,
    subject_type: str,
    subject_id: str | None,
    user_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event (secrets in `details` are reduced to "changed"); the caller commits."""
    safe = {
        key: ("changed" if is_secret_key(key) else value) for key, value in (details or {}).items()
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
