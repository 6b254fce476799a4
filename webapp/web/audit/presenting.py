"""The audit trail as people read it: a sentence per action, its area, readable details,
and the subject named and linked to its page while it exists.

A new `AuditAction` needs one line here, its sentence (a test checks that each has one);
its area follows from the name's prefix. An action the code no longer knows still shows,
by its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.formats import thousands
from webapp.models import AuditEvent, User
from webapp.services.audit import AuditAction, is_secret_key
from webapp.services.audit_subjects import LEAD_LIST, Facts, SubjectFacts, subject_key
from webapp.services.audit_trail import TrailEntry

# What each action did, as a sentence whose subject is the person in the "who" column.
SENTENCES: dict[str, Any] = {
    AuditAction.CAMPAIGN_CREATED: _l("Created a campaign"),
    AuditAction.CAMPAIGN_UPDATED: _l("Changed a campaign"),
    AuditAction.CAMPAIGN_START: _l("Started a campaign"),
    AuditAction.CAMPAIGN_PAUSE: _l("Paused a campaign"),
    AuditAction.CAMPAIGN_RESUME: _l("Resumed a campaign"),
    AuditAction.CAMPAIGN_STOP: _l("Stopped a campaign"),
    AuditAction.CAMPAIGN_REOPENED: _l("Reopened a completed campaign to send a mail again"),
    AuditAction.CAMPAIGN_DUPLICATED: _l("Copied a campaign as a new draft"),
    AuditAction.CAMPAIGN_DELETED: _l("Deleted a draft campaign"),
    AuditAction.CAMPAIGN_ARCHIVED: _l("Archived a finished campaign"),
    AuditAction.CAMPAIGN_UNARCHIVED: _l("Brought an archived campaign back into the list"),
    AuditAction.CAMPAIGN_DNS_OVERRIDE: _l(
        "Started a campaign although its sending domains failed DNS checks"
    ),
    AuditAction.CAMPAIGN_WINNER: _l("Declared the winning variant of a mail"),
    AuditAction.DOMAIN_UPDATED: _l("Changed the settings of a sending domain"),
    AuditAction.DOMAIN_PAUSED: _l("Paused a sending domain"),
    AuditAction.DKIM_GENERATED: _l("Generated a DKIM key for a sending domain"),
    AuditAction.DKIM_IMPORTED: _l("Imported a DKIM key for a sending domain"),
    AuditAction.DKIM_ACTIVATED: _l("Moved a sending domain's signing to its new DKIM key"),
    AuditAction.LEAD_STOPPED: _l("Stopped a lead"),
    AuditAction.LEAD_UNSTOPPED: _l("Let a stopped lead be mailed again"),
    AuditAction.LEAD_DELETED: _l("Deleted a lead"),
    AuditAction.LEAD_RESTORED: _l("Restored a deleted lead"),
    AuditAction.LEAD_EDITED: _l("Edited a lead"),
    AuditAction.LEADS_IMPORTED: _l("Imported a lead file"),
    AuditAction.LEADS_IMPORT_FAILED: _l("Started a lead import that did not finish"),
    AuditAction.LEADS_BULK_STOP: _l("Stopped a selection of leads"),
    AuditAction.LEADS_BULK_UNSTOP: _l("Let a selection of stopped leads be mailed again"),
    AuditAction.LEADS_BULK_DELETE: _l("Deleted a selection of leads"),
    AuditAction.LEADS_BULK_RESTORE: _l("Restored a selection of deleted leads"),
    AuditAction.LEADS_BULK_MOVE: _l("Moved a selection of leads to another list"),
    AuditAction.MESSAGE_RESENT: _l("Put a failed mail back in the queue"),
    AuditAction.MESSAGE_DECIDED_SENT: _l("Settled an uncertain mail as sent"),
    AuditAction.MESSAGE_DECIDED_RESEND: _l("Had an uncertain mail sent again"),
    AuditAction.SUPPRESSION_ADDED: _l("Added an address or domain to the suppression list"),
    AuditAction.SUPPRESSION_REMOVED: _l("Took an address or domain off the suppression list"),
    AuditAction.TEMPLATE_CREATE: _l("Created a template"),
    AuditAction.TEMPLATE_UPDATE: _l("Changed a template"),
    AuditAction.TEMPLATE_TEST_MAIL: _l("Sent themself a test mail of a template"),
    AuditAction.USER_PASSWORD_CHANGED: _l("Changed their password"),
    AuditAction.USER_TOKEN_CREATED: _l("Created an API token"),
    AuditAction.USER_TOKEN_REVOKED: _l("Revoked an API token"),
    AuditAction.INVITATION_SENT: _l("Invited someone to the team"),
    AuditAction.INVITATION_RESENT: _l("Sent an invitation again, with a new link"),
    AuditAction.INVITATION_CANCELED: _l("Canceled an invitation"),
    AuditAction.INVITATION_ACCEPTED: _l("Accepted an invitation and joined the team"),
    AuditAction.USER_ROLE_CHANGED: _l("Changed someone's role"),
    AuditAction.USER_DEACTIVATED: _l("Deactivated someone's account"),
    AuditAction.USER_REACTIVATED: _l("Reactivated someone's account"),
    AuditAction.PASSWORD_RESET: _l("Set a new password through a reset link"),
    AuditAction.USER_TWO_FACTOR_ENABLED: _l("Switched on two-factor sign-in"),
    AuditAction.USER_TWO_FACTOR_DISABLED: _l("Switched off two-factor sign-in"),
    AuditAction.USER_RECOVERY_CODES_REGENERATED: _l("Made new recovery codes"),
    AuditAction.USER_RECOVERY_CODE_USED: _l("Logged in with a recovery code"),
    AuditAction.USER_TWO_FACTOR_RESET: _l("Switched off someone's two-factor sign-in"),
}

# The areas of the action filter, by the prefix of the action's name, in this order.
AREAS: list[tuple[tuple[str, ...], Any]] = [
    (("campaign.",), _l("Campaigns")),
    (("message.",), _l("Mails sent again and decisions")),
    (("lead.", "leads."), _l("Leads and imports")),
    (("suppression.",), _l("Suppressions")),
    (("template.",), _l("Templates")),
    (("domain.",), _l("Sending domains")),
    (("user.", "invitation."), _l("People and accounts")),
]
OTHER_AREA = _l("Other")

# Names of the details events record, as a reader says them, in the order they are shown
# (the database keeps a JSON object's keys in an order of its own).
DETAIL_LABELS: dict[str, Any] = {
    "name": _l("Name"),
    "filename": _l("File"),
    "list_name": _l("List"),
    "email": _l("E-mail"),
    "previous_email": _l("Previous address"),
    "domain": _l("Domain"),
    "reason": _l("Reason"),
    "note": _l("Note"),
    "token": _l("Token"),
    "message": _l("Mail"),
    "messages": _l("Mails"),
    "count": _l("Leads"),
    "leads": _l("Leads"),
    "created": _l("New leads"),
    "updated": _l("Updated leads"),
    "unchanged": _l("Unchanged"),
    "duplicates": _l("Repeated addresses"),
    "errors": _l("Rows with errors"),
    "rows": _l("Rows read"),
    "error": _l("Error"),
    "leads_restored": _l("Leads active again"),
    "audience_size": _l("Audience"),
    "fields": _l("Fields"),
    "filter": _l("Selection"),
    "label": _l("Label"),
    "paused": _l("Paused"),
    "paused_reason": _l("Reason for the pause"),
    "interval_seconds": _l("Interval between mails (seconds)"),
    "window_start": _l("Window start"),
    "window_end": _l("Window end"),
    "working_days": _l("Working days"),
    "timezone": _l("Time zone"),
    "skip_holidays": _l("Skip Dutch public holidays"),
    "aliases": _l("Aliases"),
    "smtp_host": _l("SMTP host"),
    "smtp_port": _l("SMTP port"),
    "smtp_user": _l("SMTP user"),
    "smtp_password": _l("SMTP password"),
    "smtp_tls": _l("SMTP security"),
    "imap_host": _l("IMAP host"),
    "imap_port": _l("IMAP port"),
    "imap_user": _l("IMAP user"),
    "imap_password": _l("IMAP password"),
    "imap_tls": _l("IMAP over TLS"),
    "imap_folder": _l("IMAP folder"),
    "q": _l("Search"),
    "status": _l("Status"),
    "complete": _l("Complete"),
    "stopped": _l("Stopped"),
    "deleted": _l("Deleted"),
    "role": _l("Role"),
    "from": _l("Before"),
    "to": _l("After"),
    "remaining": _l("Recovery codes left"),
    "by": _l("By"),
    "recipient": _l("To"),
    "lead_id": _l("Lead"),
    "mail_number": _l("Mail number"),
    "alias": _l("Sender"),
    "variant": _l("Variant"),
    "moved": _l("Mails moved"),
    "automatic": _l("Automatic"),
    "copied_from": _l("Copied from"),
    "selector": _l("DKIM selector"),
    "previous_selector": _l("Previous DKIM selector"),
    "state": _l("State"),
    "domains": _l("Domains"),
    "daily_cap": _l("Mails a day at most"),
    "ramp_start": _l("Ramp: mails on the first day"),
    "ramp_step": _l("Ramp: more mails each working day"),
    "tracking_host": _l("Tracking host"),
    "step_delays": _l("Working days before each follow-up"),
    "auto_winner_min_sends": _l("Automatic winner after"),
}
_DETAIL_ORDER = {key: position for position, key in enumerate(DETAIL_LABELS)}
# What a subject is, when it has no name to show (it is gone, or was never one thing).
SUBJECT_KINDS: dict[str, Any] = {
    "campaign": _l("Campaign"),
    "lead": _l("Lead"),
    "sending_domain": _l("Sending domain"),
    "message": _l("Mail"),
    "template": _l("Template"),
    "suppression": _l("Suppression"),
    "user": _l("Person"),
    "invitation": _l("Invitation"),
    LEAD_LIST: _l("Lead list"),
}
# A detail value longer than this is cut: the trail is for reading, not for whole texts.
MAX_VALUE = 200


def sentence(action: str) -> str:
    """What the action did, in words; the code itself for one no sentence exists for."""
    words = SENTENCES.get(action)
    return action if words is None else str(words)


def area_of(action: str) -> str:
    for prefixes, label in AREAS:
        if action.startswith(prefixes):
            return str(label)
    return str(OTHER_AREA)


def action_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The action filter's choices: (area, [(action, sentence)]) in the areas' order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for _prefixes, label in AREAS:
        groups[str(label)] = []
    for action in AuditAction:
        groups.setdefault(area_of(action.value), []).append((action.value, sentence(action)))
    return [(area, choices) for area, choices in groups.items() if choices]


def _value(value: Any) -> str:
    if value is None or value == "":
        return "\u2013"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, int):
        return thousands(value)
    if isinstance(value, dict):
        return ", ".join(f"{_label(k)}: {_value(v)}" for k, v in _ordered(value))
    if isinstance(value, list | tuple):
        if value and all(isinstance(item, dict) for item in value):
            return ", ".join(" ".join(str(v) for v in item.values() if v) for item in value)
        return ", ".join(_value(item) for item in value)
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "\u2026"


def _ordered(values: dict[str, Any]) -> list[tuple[str, Any]]:
    """Known details in their reading order, then the others by name."""
    last = len(_DETAIL_ORDER)
    return sorted(values.items(), key=lambda item: (_DETAIL_ORDER.get(item[0], last), item[0]))


def _label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def readable_details(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The details as (label, value) pairs in words; a secret's value never shows."""
    pairs = []
    for key, value in _ordered(details or {}):
        if is_secret_key(key):
            pairs.append((_label(key), _("changed")))
        else:
            pairs.append((_label(key), _value(value)))
    return pairs


def details_text(details: dict[str, Any] | None) -> str:
    """The details on one line, for a CSV cell."""
    return "; ".join(f"{label}: {value}" for label, value in readable_details(details))


@dataclass(frozen=True)
class SubjectView:
    """What an event is about: its name (or kind) and its page, while it exists."""

    label: str
    kind: str
    url: str | None = None
    exists: bool = False


def _subject_url(kind: str, subject_id: str, facts: Facts) -> str | None:
    if kind == "campaign":
        return url_for("campaigns.show", campaign_id=subject_id)
    if kind == "lead":
        return url_for("leads.show", lead_id=subject_id)
    if kind == "message":
        return url_for("leads.show", lead_id=facts["lead_id"], _anchor=f"message-{subject_id}")
    if kind == "sending_domain":
        if current_user.is_authenticated and current_user.is_admin:
            return url_for("domains.edit", name=facts["name"])
        return url_for("domains.index", _anchor=f"domain-{facts['label']}")
    if kind == "template":
        return url_for("templates.edit", template_id=subject_id)
    if kind == "suppression":
        return url_for("suppressions.index", q=facts["name"])
    if kind == LEAD_LIST:
        return url_for("leads.index", list_name=facts["name"])
    if kind == "user":
        # Admins go to the person's row on the users page; managers (who have no users
        # page) to what the person did.
        if current_user.is_authenticated and current_user.is_admin:
            return url_for("team.index", _anchor=f"user-{subject_id}")
        return url_for("audit.index", user_id=subject_id)
    return None


def _recorded_name(event: AuditEvent) -> str:
    """The subject's name as the event recorded it, for a subject that is gone."""
    details = event.details or {}
    for key in ("name", "email", "domain", "list_name"):
        value = details.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def subject_view(event: AuditEvent, found: SubjectFacts) -> SubjectView:
    """The subject of one event, named as it is now, linked while it exists."""
    kind = event.subject_type
    kind_label = str(SUBJECT_KINDS.get(kind, kind.replace("_", " ")))
    key = subject_key(event)
    facts = found.get(key) if key is not None else None
    if key is not None and facts is not None:
        label = facts["name"]
        if kind == "message":
            label = _(
                "mail %(number)s to %(email)s (%(campaign)s)",
                number=facts["mail_number"],
                email=facts["name"],
                campaign=facts["campaign"],
            )
        return SubjectView(label, kind_label, _subject_url(kind, key[1], facts), exists=True)
    if kind == "lead" and not event.subject_id:
        filter_args = (event.details or {}).get("filter")
        if isinstance(filter_args, dict):
            args: dict[str, Any] = {k: v for k, v in filter_args.items() if isinstance(v, str)}
            return SubjectView(_("Selected leads"), kind_label, url_for("leads.index", **args))
    name = _recorded_name(event)
    if name:
        return SubjectView(_("%(name)s (gone)", name=name), kind_label)
    if event.subject_id:
        return SubjectView(_("%(kind)s (gone)", kind=kind_label), kind_label)
    return SubjectView(kind_label, kind_label)


@dataclass(frozen=True)
class TrailRow:
    """One event as a row of the page, the export and the API."""

    id: str
    created_at: datetime
    action: str
    sentence: str
    area: str
    user: User | None
    subject_type: str
    subject_id: str | None
    subject: SubjectView
    details: list[tuple[str, str]]
    raw_details: dict[str, Any]

    @property
    def who(self) -> str:
        if self.user is None:
            return str(_("system"))
        return self.user.name or self.user.email


def trail_rows(entries: list[TrailEntry], found: SubjectFacts) -> list[TrailRow]:
    """The page's or batch's events, each with its sentence, details and subject."""
    rows = []
    for entry in entries:
        event = entry.event
        raw = {
            key: ("changed" if is_secret_key(key) else value)
            for key, value in (event.details or {}).items()
        }
        rows.append(
            TrailRow(
                id=event.id,
                created_at=event.created_at,
                action=event.action,
                sentence=sentence(event.action),
                area=area_of(event.action),
                user=entry.user,
                subject_type=event.subject_type,
                subject_id=event.subject_id,
                subject=subject_view(event, found),
                details=readable_details(raw),
                raw_details=raw,
            )
        )
    return rows
