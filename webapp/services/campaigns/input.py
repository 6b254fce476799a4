"""What a campaign may be given: API, wizard and edit-page input, checked field by field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import SendingDomain, Template
from webapp.services.campaigns.audience import AudienceError, parse_filters
from webapp.services.errors import InvalidInput
from webapp.services.inputs import parse_bool
from webapp.services.planning import MAX_START_AHEAD

# What a campaign that has started may still change.
LIVE_EDITABLE = frozenset({"name", "followup_enabled", "followup_days", "followup_attach_report"})
EDITABLE = LIVE_EDITABLE | {"template_id", "audience", "start_at", "domains"}
MAX_FOLLOWUP_DAYS = 60
# "Today at 09:00" picked in the afternoon is not an error: the plan starts now instead.
START_GRACE = timedelta(days=1)


class CampaignInputError(InvalidInput):
    """Invalid campaign settings; `fields` maps each field to the reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields, "invalid campaign")


def parse_campaign_input(
    raw: dict[str, Any], now: datetime, partial: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values and per-field errors from API or wizard input (`partial`: only those given)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in raw:
        if key not in EDITABLE:
            errors[key] = "unknown field"
    if "name" in raw or not partial:
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "give the campaign a name"
        elif len(name.strip()) > 200:
            errors["name"] = "at most 200 characters"
        else:
            values["name"] = name.strip()
    if "template_id" in raw or not partial:
        template = _template(raw.get("template_id"))
        if template is None:
            errors["template_id"] = "choose a template"
        elif not template.steps:
            errors["template_id"] = "this template has no steps yet"
        else:
            values["template_id"] = template.id
    if "audience" in raw or not partial:
        audience = raw.get("audience")
        try:
            if not isinstance(audience, dict):
                raise AudienceError({"list_names": "choose at least one list"})
            values["audience"] = parse_filters(audience)
        except AudienceError as error:
            errors.update({f"audience.{k}": v for k, v in error.fields.items()})
    if "start_at" in raw:
        try:
            values["start_at"] = _start_at(raw["start_at"], now)
        except ValueError as error:
            errors["start_at"] = str(error)
    for flag, default in (("followup_enabled", True), ("followup_attach_report", False)):
        if flag in raw or not partial:
            try:
                values[flag] = parse_bool(raw.get(flag, default))
            except ValueError as error:
                errors[flag] = str(error)
    if "followup_days" in raw or not partial:
        try:
            values["followup_days"] = _followup_days(raw.get("followup_days", 3))
        except ValueError as error:
            errors["followup_days"] = str(error)
    if "domains" in raw:
        try:
            values["domains"] = _domains(raw["domains"])
        except ValueError as error:
            errors["domains"] = str(error)
    return values, errors


def _template(template_id: Any) -> Template | None:
    if not isinstance(template_id, str) or not template_id:
        return None
    return db.session.get(Template, template_id)


def _start_at(raw: Any, now: datetime) -> datetime | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                "must be a date and time in ISO 8601, e.g. 2026-03-02T09:00+01:00"
            ) from None
    else:
        raise ValueError("must be a date and time in ISO 8601, e.g. 2026-03-02T09:00+01:00")
    if value.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-03-02T09:00+01:00")
    try:
        too_early = value < now - START_GRACE
        too_late = value > now + MAX_START_AHEAD
    except OverflowError:  # year 1 or 9999 with an offset: outside any sensible range
        too_early, too_late = value.year < now.year, value.year > now.year
    if too_early:
        raise ValueError("must not be in the past")
    if too_late:
        raise ValueError(f"must be within {MAX_START_AHEAD.days} days from now")
    return value


def _followup_days(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("must be a whole number of working days")
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ValueError("must be a whole number of working days") from None
    # 0 means the next free slot after the earlier mail (the planner allows it).
    if not 0 <= days <= MAX_FOLLOWUP_DAYS:
        raise ValueError(f"must be between 0 and {MAX_FOLLOWUP_DAYS} working days")
    return days


def _domains(raw: Any) -> list[str]:
    """Chosen sending domains; an empty list means "auto-assign"."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise ValueError("must be a list of sending domain names")
    names = list(dict.fromkeys(n.strip().lower() for n in raw if n.strip()))
    known = set(
        db.session.execute(
            sa.select(SendingDomain.name).where(SendingDomain.name.in_(names))
        ).scalars()
    )
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"no sending domain {', '.join(unknown)}")
    return names
