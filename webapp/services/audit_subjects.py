"""What the audit trail's events are about, as those things are now.

An event keeps only its subject's kind and id. To name it and link to its page, the trail
looks the subjects of a whole page up at once, one query per kind; a subject that is gone
(a deleted campaign, a removed suppression) is simply absent, and the page names it from
what the event recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Campaign,
    Lead,
    Message,
    SendingDomain,
    Suppression,
    Template,
    User,
)

# What a subject is now: its name and what a link to its page needs, all as text.
Facts = dict[str, str]
# (subject_type, subject_id) -> facts, for the subjects that still exist.
SubjectFacts = dict[tuple[str, str], Facts]
# A lead list has no row of its own: its subject id is None and its name is in the details.
LEAD_LIST = "lead_list"


def _campaigns(ids: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = sa.select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))
    for row in db.session.execute(query):
        yield row.id, {"name": row.name}


def _leads(ids: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = sa.select(Lead.id, Lead.email).where(Lead.id.in_(ids))
    for row in db.session.execute(query):
        yield row.id, {"name": row.email}


def _domains(ids: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = sa.select(SendingDomain.id, SendingDomain.name, SendingDomain.label)
    for row in db.session.execute(query.where(SendingDomain.id.in_(ids))):
        yield row.id, {"name": row.name, "label": row.label or ""}


def _messages(ids: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = (
        sa.select(
            Message.id,
            Message.lead_id,
            Message.mail_number,
            Lead.email,
            Campaign.id.label("campaign_id"),
            Campaign.name,
        )
        .join(Lead, Lead.id == Message.lead_id)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(Message.id.in_(ids))
    )
    for row in db.session.execute(query):
        yield (
            row.id,
            {
                "name": row.email,
                "lead_id": row.lead_id,
                "mail_number": str(row.mail_number),
                "campaign_id": row.campaign_id,
                "campaign": row.name,
            },
        )


def _templates(ids: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = sa.select(Template.id, Template.name).where(Template.id.in_(ids))
    for row in db.session.execute(query):
        yield row.id, {"name": row.name}


def _suppressions(ids: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = sa.select(Suppression.id, Suppression.email, Suppression.domain)
    for row in db.session.execute(query.where(Suppression.id.in_(ids))):
        yield row.id, {"name": row.email or row.domain or ""}


def _users(ids: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = sa.select(User.id, User.email, User.name).where(User.id.in_(ids))
    for row in db.session.execute(query):
        yield row.id, {"name": row.name or row.email, "email": row.email}


def _lead_lists(names: Sequence[str]) -> Iterable[tuple[str, Facts]]:
    query = sa.select(Lead.list_name).where(Lead.list_name.in_(names)).distinct()
    for name in db.session.scalars(query):
        if name:
            yield name, {"name": name}


LOOKUPS: dict[str, Callable[[Sequence[str]], Iterable[tuple[str, Facts]]]] = {
    "campaign": _campaigns,
    "lead": _leads,
    "sending_domain": _domains,
    "message": _messages,
    "template": _templates,
    "suppression": _suppressions,
    "user": _users,
    LEAD_LIST: _lead_lists,
}


def subject_key(event: AuditEvent) -> tuple[str, str] | None:
    """How the event's subject is looked up: its kind and id (a list: its name)."""
    if event.subject_type == LEAD_LIST:
        name = (event.details or {}).get("list_name")
        return (LEAD_LIST, name) if isinstance(name, str) and name else None
    if event.subject_id:
        return event.subject_type, event.subject_id
    return None


def subject_facts(events: Iterable[AuditEvent]) -> SubjectFacts:
    """The subjects of these events that still exist, each looked up once per kind."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        key = subject_key(event)
        if key is not None and key[0] in LOOKUPS:
            wanted.setdefault(key[0], set()).add(key[1])
    found: SubjectFacts = {}
    for kind, ids in wanted.items():
        for subject_id, facts in LOOKUPS[kind](sorted(ids)):
            found[(kind, subject_id)] = facts
    return found
