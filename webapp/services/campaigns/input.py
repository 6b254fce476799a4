"""What a campaign may be given: API, wizard and edit-page input, checked field by field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import SendingDomain, Template
from webapp.services.campaigns.audience import AudienceError, parse_filters
from webapp.services.errors import InvalidInput
from webapp.services.inputs import parse_bool
from webapp.services.planning import MAX_START_AHEAD

# What a campaign that has started may still change.
LIVE_EDITABLE = frozenset(
    {
        "name",
        "followup_enabled",
        "followup_days",
        "step_delays",
        "followup_attach_report",
        "auto_winner_min_sends",
    }
)
EDITABLE = LIVE_EDITABLE | {"template_id", "audience", "start_at", "domains"}
MAX_FOLLOWUP_DAYS = 60
MAX_AUTO_WINNER_SENDS = 1_000_000
# "Today at 09:00" picked in the afternoon is not an error: the plan starts now instead.
START_GRACE = timedelta(days=1)


class CampaignInputError(InvalidInput):
    """Invalid campaign settings; `fields` maps each field to the reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields, _("invalid campaign"))


def parse_campaign_input(
    raw: dict[str, Any], now: datetime, partial: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed values and per-field errors from API or wizard input (`partial`: only those given)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in raw:
        if key not in EDITABLE:
            errors[key] = _("unknown field")
    if "name" in raw or not partial:
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = _("give the campaign a name")
        elif len(name.strip()) > 200:
            errors["name"] = _("at most %(max)s characters", max=thousands(200))
        else:
            values["name"] = name.strip()
    if "template_id" in raw or not partial:
        template = _template(raw.get("template_id"))
        if template is None:
            errors["template_id"] = _("choose a template")
        elif not template.steps:
            errors["template_id"] = _("this template has no steps yet")
        else:
            values["template_id"] = template.id
    if "audience" in raw or not partial:
        audience = raw.get("audience")
        try:
            if not isinstance(audience, dict):
                raise AudienceError({"list_names": _("choose at least one list")})
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
    if "step_delays" in raw:
        try:
            values["step_delays"] = _step_delays(raw["step_delays"])
        except ValueError as error:
            errors["step_delays"] = str(error)
    if "auto_winner_min_sends" in raw:
        try:
            values["auto_winner_min_sends"] = _auto_winner_min_sends(raw["auto_winner_min_sends"])
        except ValueError as error:
            errors["auto_winner_min_sends"] = str(error)
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
            raise ValueError(_not_a_moment()) from None
    else:
        raise ValueError(_not_a_moment())
    if value.tzinfo is None:
        raise ValueError(_("needs a UTC offset, e.g. 2026-03-02T09:00+01:00"))
    try:
        too_early = value < now - START_GRACE
        too_late = value > now + MAX_START_AHEAD
    except OverflowError:  # year 1 or 9999 with an offset: outside any sensible range
        too_early, too_late = value.year < now.year, value.year > now.year
    if too_early:
        raise ValueError(_("must not be in the past"))
    if too_late:
        raise ValueError(
            _("must be within %(days)s days from now", days=thousands(MAX_START_AHEAD.days))
        )
    return value


def _not_a_moment() -> str:
    return str(_("must be a date and time in ISO 8601, e.g. 2026-03-02T09:00+01:00"))


def _auto_winner_min_sends(raw: Any) -> int | None:
    """Sends each variant needs before a winner is declared by itself; None or "": never."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(_("must be a whole number of sends, or empty"))
    try:
        sends = int(raw)
    except ValueError:
        raise ValueError(_("must be a whole number of sends, or empty")) from None
    if not 1 <= sends <= MAX_AUTO_WINNER_SENDS:
        raise ValueError(
            _("must be between 1 and %(max)s sends", max=thousands(MAX_AUTO_WINNER_SENDS))
        )
    return sends


def _followup_days(raw: Any) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ValueError(_("must be a whole number of working days"))
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ValueError(_("must be a whole number of working days")) from None
    # 0 means the next free slot after the earlier mail (the planner allows it).
    if not 0 <= days <= MAX_FOLLOWUP_DAYS:
        raise ValueError(
            _("must be between 0 and %(max)s working days", max=thousands(MAX_FOLLOWUP_DAYS))
        )
    return days


def _step_delays(raw: Any) -> list[int]:
    """`[n2, n3, n4]`: working days before mail 2, 3 and 4; fewer (or none) leave the rest
    at `followup_days`."""
    if raw is None or raw == "":
        return []
    if not isinstance(raw, list) or len(raw) > 3:
        raise ValueError(_("must be a list of at most three numbers of working days"))
    return [_followup_days(days) for days in raw]


def _domains(raw: Any) -> list[str]:
    """Chosen sending domains; an empty list means "auto-assign"."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise ValueError(_("must be a list of sending domain names"))
    names = list(dict.fromkeys(n.strip().lower() for n in raw if n.strip()))
    known = set(
        db.session.execute(
            sa.select(SendingDomain.name).where(SendingDomain.name.in_(names))
        ).scalars()
    )
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            ngettext(
                "no sending domain %(names)s",
                "no sending domains %(names)s",
                len(unknown),
                names=", ".join(unknown),
            )
        )
    return names
