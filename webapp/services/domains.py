"""Sending domains: defaults, validated settings, and their public shape."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import flag_modified

from webapp.database import utcnow
from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import SendingDomain
from webapp.models.domains import DEFAULT_ALIASES, DEFAULT_DOMAINS, SMTP_TLS_MODES, SmtpTls
from webapp.queue import wake_dispatcher_after_commit
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import InvalidInput
from webapp.services.inputs import parse_bool
from webapp.services.planning import request_domain_replans
from webapp.services.tracking import forget_tracking_hosts_after_commit

_ALIAS_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# Fields a caller may change, by kind. Secrets are write-only.
TEXT_FIELDS = ("label", "smtp_host", "smtp_user", "imap_host", "imap_user", "imap_folder")
SECRET_FIELDS = ("smtp_password", "imap_password")
# Stored sealed under SECRET_KEY (webapp/sealing.py).
SEALED_FIELDS = (*SECRET_FIELDS, "dkim_private_key", "dkim_pending_private_key")
BOOL_FIELDS = ("skip_holidays", "paused", "imap_tls")
PORT_FIELDS = ("smtp_port", "imap_port")
# Settings that decide where a domain's slots are.
PACE_FIELDS = frozenset(
    {
        "paused",
        "interval_seconds",
        "window_start",
        "window_end",
        "working_days",
        "timezone",
        "skip_holidays",
        "daily_cap",
        "ramp_start",
        "ramp_step",
    }
)
# Warm-up numbers: None (or an empty form field) for no cap and no ramp.
CAP_FIELDS = ("daily_cap", "ramp_start")
MAX_DAILY_MAILS = 100_000
EDITABLE_FIELDS = (
    *TEXT_FIELDS,
    *SECRET_FIELDS,
    *BOOL_FIELDS,
    *PORT_FIELDS,
    "interval_seconds",
    "window_start",
    "window_end",
    "working_days",
    "timezone",
    "aliases",
    "smtp_tls",
    "paused_reason",
    *CAP_FIELDS,
    "ramp_step",
    "tracking_host",
)


class DomainSettingsError(InvalidInput):
    """Invalid settings; `fields` maps each field to the reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields, _("invalid domain settings"))


def get_domain(name: str) -> SendingDomain | None:
    return db.session.execute(
        db.select(SendingDomain).where(SendingDomain.name == name.strip().lower())
    ).scalar_one_or_none()


def seed_default_domains() -> list[SendingDomain]:
    """Create the four default domains that do not exist yet; returns the ones created."""
    created = []
    for label, name in DEFAULT_DOMAINS:
        if get_domain(name) is None:
            domain = SendingDomain(
                name=name, label=label, aliases=[dict(a) for a in DEFAULT_ALIASES]
            )
            db.session.add(domain)
            created.append(domain)
    db.session.flush()
    return created


def update_domain(
    domain: SendingDomain, changes: dict[str, Any], user_id: str | None = None
) -> SendingDomain:
    """Apply validated changes and record them; DomainSettingsError names every bad field."""
    values, errors = parse_settings(changes)
    start = values.get("window_start", domain.window_start)
    end = values.get("window_end", domain.window_end)
    if "window_start" not in errors and "window_end" not in errors and start >= end:
        errors["window_end"] = _("must be after the start time")
    if "tracking_host" not in errors and values.get("tracking_host"):
        error = _tracking_host_error(domain, values["tracking_host"])
        if error:
            errors["tracking_host"] = error
    errors.update(_warm_up_errors(domain, values, errors))
    if errors:
        raise DomainSettingsError(errors)
    if "ramp_start" in values and (values["ramp_start"] is None or domain.ramp_start is None):
        # Switched off, or on: a new ramp starts with the domain's first mail sent under it
        # (the send sets the day), not today, so it cannot run out before the domain sends.
        domain.ramp_started_on = None
    mailbox = ("imap_host", "imap_port", "imap_user", "imap_folder")
    if any(field in values and values[field] != getattr(domain, field) for field in mailbox):
        # Another mailbox: the UIDs remembered for the old one mean nothing there.
        domain.imap_uidvalidity = None
        domain.imap_last_uid = None
    # Only what really changes is recorded: a form sends every field, changed or not.
    changed = {field: value for field, value in values.items() if getattr(domain, field) != value}
    reshaped = any(field in PACE_FIELDS for field in changed)
    if "tracking_host" in values and values["tracking_host"] != domain.tracking_host:
        forget_tracking_hosts_after_commit()  # this process answers on the new host at once
    for field, value in values.items():
        setattr(domain, field, value)
    wake_dispatcher_after_commit()  # unpaused, or its window or pace moved
    if values.get("paused") is False:
        domain.paused_reason = None
    if reshaped:
        # Its slots moved: queued mail of running campaigns on it moves with them (as a job
        # when there is much of it; ActionPending while one of them is busy).
        db.session.flush()
        request_domain_replans(domain.name, user_id, utcnow(), pausing=values.get("paused") is True)
    if changed:
        record_action(
            AuditAction.DOMAIN_UPDATED,
            "sending_domain",
            domain.id,
            user_id,
            {k: (v.strftime("%H:%M") if isinstance(v, time) else v) for k, v in changed.items()},
        )
    db.session.flush()
    return domain


def _warm_up_errors(
    domain: SendingDomain, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, str]:
    """A ramp step without a ramp, and a ramp that starts at or above the cap, do nothing:
    say so rather than save them."""
    if not {"daily_cap", "ramp_start", "ramp_step"} & values.keys():
        return {}
    if {"daily_cap", "ramp_start", "ramp_step"} & errors.keys():
        return {}
    found: dict[str, str] = {}
    cap = values.get("daily_cap", domain.daily_cap)
    start = values.get("ramp_start", domain.ramp_start)
    if values.get("ramp_step") and start is None:
        found["ramp_step"] = _("a ramp step needs the mails of the ramp's first day")
    if start is not None and cap is not None and start >= cap:
        field = "ramp_start" if "ramp_start" in values else "daily_cap"
        found[field] = _(
            "the ramp would start at the cap: its first day (%(start)s) must be below the "
            "daily cap (%(cap)s), or leave it empty for no ramp",
            start=thousands(start),
            cap=thousands(cap),
        )
    return found


def parse_settings(changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn raw API / CLI / form values into typed column values, collecting errors."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field, raw in changes.items():
        if field not in EDITABLE_FIELDS:
            errors[field] = _("unknown field")
            continue
        try:
            values[field] = _parse(field, raw)
        except ValueError as error:
            errors[field] = str(error)
    return values, errors


def _parse(field: str, raw: Any) -> Any:
    if field in TEXT_FIELDS or field in SECRET_FIELDS or field == "paused_reason":
        return _text(field, raw)
    if field in BOOL_FIELDS:
        return parse_bool(raw)
    if field in PORT_FIELDS:
        return _int(raw, 1, 65535)
    if field == "interval_seconds":
        return _int(raw, 1, 86400)
    if field in ("window_start", "window_end"):
        return _time(raw)
    if field == "working_days":
        return _working_days(raw)
    if field == "timezone":
        return _timezone(raw)
    if field == "aliases":
        return _aliases(raw)
    if field == "smtp_tls":
        return _smtp_tls(raw)
    if field in CAP_FIELDS:
        return None if raw is None or raw == "" else _int(raw, 1, MAX_DAILY_MAILS)
    if field == "ramp_step":
        return 0 if raw is None or raw == "" else _int(raw, 0, MAX_DAILY_MAILS)
    if field == "tracking_host":
        return _tracking_host(raw)
    raise ValueError(_("unknown field"))


def _text(field: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(_("must be text"))
    value = raw.strip()
    if len(value) > 1000 or "\n" in value or "\r" in value:
        raise ValueError(_("must be one line of at most %(max)s characters", max=thousands(1000)))
    if field in ("smtp_host", "imap_host") and value and not _HOST_RE.match(value):
        raise ValueError(_("must be a host name or IP address"))
    if field == "imap_folder" and not value:
        raise ValueError(_("must not be empty"))
    if field == "label":
        return value
    return value or None


def _int(raw: Any, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raise ValueError(_("must be a whole number"))
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValueError(_("must be a whole number")) from None
    if isinstance(raw, float) and raw != value:
        raise ValueError(_("must be a whole number"))
    if not low <= value <= high:
        raise ValueError(
            _("must be between %(low)s and %(high)s", low=thousands(low), high=thousands(high))
        )
    return value


def _time(raw: Any) -> time:
    if not isinstance(raw, str) or not re.fullmatch(r"\d{2}:\d{2}", raw.strip()):
        raise ValueError(_('must be a time as "HH:MM"'))
    hours, minutes = (int(part) for part in raw.strip().split(":"))
    if hours > 23 or minutes > 59:
        raise ValueError(_('must be a time as "HH:MM"'))
    return time(hours, minutes)


def _working_days(raw: Any) -> list[int]:
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[,\s]+", raw.strip()) if part]
    if not isinstance(raw, list) or not raw:
        raise ValueError(_("must be a non-empty list of weekdays 1..7 (Monday 1)"))
    days = sorted({_int(day, 1, 7) for day in raw})
    return days


def _timezone(raw: Any) -> str:
    if not isinstance(raw, str) or raw.strip() not in _zones():
        raise ValueError(_("must be an IANA time zone such as Europe/Amsterdam"))
    try:
        ZoneInfo(raw.strip())
    except ZoneInfoNotFoundError:
        raise ValueError(_("must be an IANA time zone such as Europe/Amsterdam")) from None
    return raw.strip()


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def _aliases(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(_("must be a non-empty list of {alias, display_name}"))
    aliases: list[dict[str, str]] = []
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError(_("each alias must be {alias, display_name}"))
        alias = str(item.get("alias", "")).strip().lower()
        display_name = str(item.get("display_name", "")).strip()
        if not _ALIAS_RE.match(alias):
            raise ValueError(_("alias %(alias)s is not a valid mailbox name", alias=repr(alias)))
        if not display_name or len(display_name) > 100 or any(c in display_name for c in '\r\n<>"'):
            raise ValueError(
                _("display name of %(alias)s must be 1-100 plain characters", alias=repr(alias))
            )
        if any(a["alias"] == alias for a in aliases):
            raise ValueError(_("alias %(alias)s appears twice", alias=repr(alias)))
        aliases.append({"alias": alias, "display_name": display_name})
    return aliases


def _smtp_tls(raw: Any) -> str:
    # Accept a boolean too: true means STARTTLS, the usual submission-port mode.
    if isinstance(raw, bool):
        return SmtpTls.STARTTLS if raw else SmtpTls.NONE
    if isinstance(raw, str) and raw.strip().lower() in SMTP_TLS_MODES:
        return raw.strip().lower()
    raise ValueError(
        _("must be one of %(choices)s (or true / false)", choices=", ".join(SMTP_TLS_MODES))
    )


def _tracking_host(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise ValueError(_("must be text"))
    host = raw.strip().lower().rstrip(".")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels):
        raise ValueError(_("must be a host name such as t.example.nl, without a scheme or port"))
    return host


def _tracking_host_error(domain: SendingDomain, host: str) -> str | None:
    """A tracking host sits under its own sending domain and serves only that domain."""
    if not host.endswith("." + domain.name):
        return str(_("must be a host under %(domain)s, such as t.%(domain)s", domain=domain.name))
    other = db.session.scalar(
        sa.select(SendingDomain.name).where(
            SendingDomain.tracking_host == host, SendingDomain.id != domain.id
        )
    )
    if other:
        return str(_("is already the tracking host of %(domain)s", domain=other))
    return None


def domain_to_dict(domain: SendingDomain) -> dict[str, Any]:
    """The public shape of a domain: every setting except the secrets."""
    return {
        "name": domain.name,
        "label": domain.label,
        "interval_seconds": domain.interval_seconds,
        "window_start": domain.window_start.strftime("%H:%M"),
        "window_end": domain.window_end.strftime("%H:%M"),
        "working_days": list(domain.working_days),
        "timezone": domain.timezone,
        "skip_holidays": domain.skip_holidays,
        "aliases": [dict(a) for a in domain.aliases],
        "paused": domain.paused,
        "paused_reason": domain.paused_reason,
        "daily_cap": domain.daily_cap,
        "ramp_start": domain.ramp_start,
        "ramp_step": domain.ramp_step,
        "ramp_started_on": (domain.ramp_started_on.isoformat() if domain.ramp_started_on else None),
        "tracking_host": domain.tracking_host,
        "dkim_selector": domain.dkim_selector,
        "dkim_key_set": bool(domain.dkim_private_key),
        "dkim_pending_selector": domain.dkim_pending_selector,
        "smtp_host": domain.smtp_host,
        "smtp_port": domain.smtp_port,
        "smtp_user": domain.smtp_user,
        "smtp_tls": domain.smtp_tls,
        "smtp_password_set": domain.has_smtp_password,
        "imap_host": domain.imap_host,
        "imap_port": domain.imap_port,
        "imap_user": domain.imap_user,
        "imap_tls": domain.imap_tls,
        "imap_folder": domain.imap_folder,
        "imap_password_set": domain.has_imap_password,
    }


def slots_per_day(domain: SendingDomain) -> int:
    """How many send slots fit in the daily window: 09:00-18:00 every 20 min is 27."""
    start = domain.window_start.hour * 3600 + domain.window_start.minute * 60
    end = domain.window_end.hour * 3600 + domain.window_end.minute * 60
    return max(0, -(-(end - start) // domain.interval_seconds))


def reseal_domain_secrets() -> int:
    """Seal every domain secret again under the current SECRET_KEY (after a rotation, or
    one stored before sealing existed); the number of secrets written. The caller commits.

    A secret that no key opens reads as unset and is left alone: enter it again.
    """
    count = 0
    for domain in db.session.scalars(sa.select(SendingDomain)):
        for field in SEALED_FIELDS:
            if getattr(domain, field):
                flag_modified(domain, field)  # written again, so sealed with the current key
                count += 1
    return count


# What one worker process sends (bench/dispatch.py: 6.8 mails a second against an SMTP
# server taking 100 ms a mail), rounded down.
WORKER_MAILS_PER_MINUTE = 360


@dataclass(frozen=True)
class SendingLoad:
    """What the active domains ask of the workers when all send at their full pace."""

    mails_per_minute: float
    workers_needed: int


def sending_load(domains: Iterable[SendingDomain]) -> SendingLoad:
    per_minute = sum(60 / d.interval_seconds for d in domains if not d.paused)
    return SendingLoad(per_minute, max(1, math.ceil(per_minute / WORKER_MAILS_PER_MINUTE)))
