"""The suppression list: addresses and whole domains that are never mailed again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from webapp.database import affected_rows
from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import (
    EventType,
    Lead,
    LeadStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Suppression,
    SuppressionReason,
)
from webapp.models.leads import SUPPRESSION_REASONS
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import InvalidInput
from webapp.services.leads.columns import clean_text, normalise_email
from webapp.services.leads.fields import company_domain, is_free_mail


class SuppressionError(InvalidInput):
    """Invalid suppression input; `fields` names each bad field."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields, _("invalid suppression"))


@dataclass(frozen=True)
class DomainImpact:
    """What suppressing a whole domain would do, shown before it is done."""

    domain: str
    leads: int  # leads of the domain that would stop being mailable
    queued: int  # their queued mails, which would be canceled
    free_mail: bool  # a provider's domain: people at many companies, not one company
    suppressed: bool  # the domain is suppressed already: nothing would change


@dataclass
class SuppressionPage:
    items: list[Suppression]
    total: int
    page: int
    per_page: int


MAX_NOTE_LENGTH = 2000


def _mail_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def is_suppressed(email: str, domain: str | None = None) -> bool:
    """Whether the address, its mail domain or the given company domain is suppressed."""
    email = (email or "").strip().lower()
    domains = {d for d in (_mail_domain(email), (domain or "").lower()) if d}
    clauses = [Suppression.email == email]
    if domains:
        clauses.append(Suppression.domain.in_(domains))
    found = db.session.execute(sa.select(Suppression.id).where(sa.or_(*clauses)).limit(1))
    return found.first() is not None


def suppressed_by(email: str, domain: str | None = None) -> str | None:
    """What suppresses the address: "address", "domain" (its mail domain or the given
    company domain), or None. One read of the two unique indexes."""
    email = (email or "").strip().lower()
    domains = [d for d in dict.fromkeys((_mail_domain(email), (domain or "").lower())) if d]
    clauses = [Suppression.email == email]
    if domains:
        clauses.append(Suppression.domain.in_(domains))
    found = db.session.execute(
        sa.select(Suppression.email)
        .where(sa.or_(*clauses))
        .order_by(Suppression.email.is_(None))
        .limit(1)
    ).first()
    if found is None:
        return None
    return "address" if found.email is not None else "domain"


def find_suppression(email: str | None = None, domain: str | None = None) -> Suppression | None:
    """The suppression of exactly this address or domain."""
    column, value = (Suppression.email, email) if email else (Suppression.domain, domain)
    return db.session.scalars(sa.select(Suppression).where(column == value)).first()


def _clean_domain(value: str) -> str | None:
    return company_domain(value, "")


def parse_suppression(
    email: str | None, domain: str | None, reason: str | None
) -> tuple[str | None, str | None, str]:
    """Validate and normalise the input of the page and the API."""
    fields = {
        name: _("must be text")
        for name, value in (("email", email), ("domain", domain), ("reason", reason))
        if value is not None and not isinstance(value, str)
    }
    if fields:
        raise SuppressionError(fields)
    email = clean_text(email or "") or None
    domain = clean_text(domain or "") or None
    if bool(email) == bool(domain):
        fields["email"] = _("give an e-mail address or a domain, not both")
    elif email:
        email, problem = normalise_email(email)
        if email is None:
            fields["email"] = problem or _("invalid e-mail address")
    elif domain:
        domain = _clean_domain(domain.removeprefix("@"))
        if domain is None:
            fields["domain"] = _("not a valid domain")
    reason = (reason or SuppressionReason.MANUAL).strip()
    if reason not in SUPPRESSION_REASONS:
        fields["reason"] = _("one of %(choices)s", choices=", ".join(SUPPRESSION_REASONS))
    if fields:
        raise SuppressionError(fields)
    return email, domain, reason


def add_suppression(
    email: str | None = None,
    domain: str | None = None,
    reason: str = SuppressionReason.MANUAL,
    note: str | None = None,
    user_id: str | None = None,
) -> tuple[Suppression, bool]:
    """Suppress an address or a domain and the leads it covers; (suppression, created)."""
    email, domain, reason = parse_suppression(email, domain, reason)
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH):
        raise SuppressionError(
            {"note": _("text of at most %(max)s characters", max=thousands(MAX_NOTE_LENGTH))}
        )
    existing = find_suppression(email, domain)
    if existing is None:
        existing = _insert(email, domain, reason, note, user_id)
        created = existing is not None
        existing = existing or find_suppression(email, domain)
    else:
        created = False
    assert existing is not None
    leads = sa.select(Lead.id).where(Lead.email == email if email else _of_domain(domain))
    bounced = reason == SuppressionReason.HARD_BOUNCE
    suppressed = _suppress_leads(
        leads, LeadStatus.BOUNCED if bounced else LeadStatus.SUPPRESSED, reason
    )
    if created and user_id is not None:
        # A person's decision is recorded; what recipients and mail servers cause (an
        # unsubscribe, a hard bounce) is in the mail's own events instead.
        details: dict[str, Any] = {"email": email, "domain": domain, "reason": reason}
        details.update(note=note, leads=suppressed)
        record_action(AuditAction.SUPPRESSION_ADDED, "suppression", existing.id, user_id, details)
    return existing, created


def _of_domain(domain: str | None) -> Any:
    """Leads a domain suppression covers: the company's domain, or the address's."""
    return sa.or_(Lead.domain == domain, Lead.email.like(f"%@{domain}"))


def domain_suppression_impact(domain: str | None) -> DomainImpact:
    """What suppressing `domain` would reach; SuppressionError when it is not a domain."""
    _email, clean, _reason = parse_suppression(None, domain, "manual")
    assert clean is not None
    mailable = sa.select(Lead.id).where(
        _of_domain(clean), Lead.deleted_at.is_(None), Lead.status == "active"
    )
    leads = db.session.scalar(sa.select(sa.func.count()).select_from(mailable.subquery()))
    queued = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Message)
        .where(Message.lead_id.in_(mailable), Message.status == "queued")
    )
    return DomainImpact(
        domain=clean,
        leads=int(leads or 0),
        queued=int(queued or 0),
        free_mail=is_free_mail(clean),
        suppressed=find_suppression(domain=clean) is not None,
    )


def _insert(
    email: str | None, domain: str | None, reason: str, note: str | None, user_id: str | None
) -> Suppression | None:
    """Insert, or None when a concurrent request inserted the same suppression first."""
    suppression = Suppression(
        email=email, domain=domain, reason=reason, note=note, created_by_id=user_id
    )
    try:
        with db.session.begin_nested():
            db.session.add(suppression)
    except IntegrityError:
        return None
    return suppression


def suppress_lead(
    lead: Lead, reason: str, note: str | None = None, user_id: str | None = None
) -> Suppression:
    """Suppress one lead: its status, a suppression of its address, its queued mails canceled."""
    suppression, _ = add_suppression(email=lead.email, reason=reason, note=note, user_id=user_id)
    return suppression


def _suppress_leads(lead_ids: Any, status: str, reason: str) -> int:
    """Set the leads' status (a bounce is never softened) and cancel their queued messages;
    returns how many leads changed status."""
    keep_bounced = (
        Lead.status != LeadStatus.BOUNCED if status == LeadStatus.SUPPRESSED else sa.true()
    )
    changed = db.session.execute(
        sa.update(Lead)
        .where(Lead.id.in_(lead_ids), keep_bounced, Lead.status != status)
        .values(status=status)
        .execution_options(synchronize_session="fetch")
    )
    queued = sa.select(Message.id).where(
        Message.lead_id.in_(lead_ids), Message.status == MessageStatus.QUEUED
    )
    canceled = db.session.scalars(
        sa.update(Message)
        .where(Message.id.in_(queued))
        .values(status=MessageStatus.CANCELED)
        .returning(Message.id)
        .execution_options(synchronize_session="fetch")
    ).all()
    if canceled:
        db.session.execute(
            sa.insert(MessageEvent),
            [
                {
                    "message_id": message_id,
                    "event_type": EventType.CANCELED,
                    "meta": {"reason": reason},
                }
                for message_id in canceled
            ],
        )
    return affected_rows(changed)


def search_suppressions(q: str = "", page: int = 1, per_page: int = 50) -> SuppressionPage:
    """Suppressions, newest first, optionally matching `q` in address, domain or note."""
    query = sa.select(Suppression)
    q = clean_text(q)
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        query = query.where(
            sa.or_(
                Suppression.email.like(pattern, escape="\\"),
                Suppression.domain.like(pattern, escape="\\"),
                Suppression.note.ilike(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    page = max(page, 1)
    items = db.session.scalars(
        query.order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return SuppressionPage(list(items), total, page, per_page)


def remove_suppression(suppression: Suppression, user_id: str | None) -> int:
    """Remove a suppression (recorded); leads it alone held become active again. Returns them."""
    covered = sa.select(Lead.id).where(
        Lead.status == LeadStatus.SUPPRESSED,
        Lead.email == suppression.email if suppression.email else _of_domain(suppression.domain),
    )
    details: dict[str, Any] = {"email": suppression.email, "domain": suppression.domain}
    details["reason"] = suppression.reason
    db.session.delete(suppression)
    db.session.flush()
    restored = 0
    for lead in db.session.scalars(sa.select(Lead).where(Lead.id.in_(covered))):
        if not is_suppressed(lead.email, lead.domain):
            lead.status = LeadStatus.ACTIVE
            restored += 1
    details["leads_restored"] = restored
    record_action(AuditAction.SUPPRESSION_REMOVED, "suppression", suppression.id, user_id, details)
    return restored


def suppression_to_dict(suppression: Suppression) -> dict[str, Any]:
    """The API's view of a suppression."""
    return {
        "id": suppression.id,
        "email": suppression.email,
        "domain": suppression.domain,
        "reason": suppression.reason,
        "note": suppression.note,
        "created_at": suppression.created_at.isoformat() if suppression.created_at else None,
    }


def escape_like(value: str) -> str:
    """Escape LIKE wildcards so user input matches literally (escape character `\\`)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
