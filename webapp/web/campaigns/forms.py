"""The campaign form as the wizard and the edit page post it, and the same input the API takes.

The wizard keeps what was entered in hidden fields: every step posts all fields, the
current step's as inputs and the others as hidden copies, so going back loses nothing.
A checkbox is preceded by a hidden "off" of the same name; the last value wins.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

STEPS = ("name", "template", "audience", "schedule", "dry_run")
STEP_TITLES = {
    "name": _l("Name"),
    "template": _l("Template"),
    "audience": _l("Audience"),
    "schedule": _l("Schedule"),
    "dry_run": _l("Dry run"),
}
FLAGS = {
    "only_complete": True,
    "exclude_suppressed": True,
    "exclude_recent": True,
    "one_per_domain": False,
    "followup_enabled": True,
    "followup_attach_report": False,
}
LISTS = ("list_names", "domains")
TEXTS = {
    "name": "",
    "template_id": "",
    "exclude_recent_days": "14",
    "start_date": "",
    "start_time": "09:00",
    "followup_days": "3",
    # Working days before mail 2, 3 and 4 each; empty: `followup_days`.
    "step_delay_2": "",
    "step_delay_3": "",
    "step_delay_4": "",
    # Sends each variant needs before the best is declared the winner by itself; empty: never.
    "auto_winner_min_sends": "",
    "domain_mode": "auto",
}
STEP_DELAY_FIELDS = ("step_delay_2", "step_delay_3", "step_delay_4")
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "template": ("template_id",),
    "audience": (
        "list_names",
        "only_complete",
        "exclude_suppressed",
        "exclude_recent",
        "exclude_recent_days",
        "one_per_domain",
    ),
    "schedule": (
        "start_date",
        "start_time",
        "followup_enabled",
        "followup_days",
        *STEP_DELAY_FIELDS,
        "followup_attach_report",
        "auto_winner_min_sends",
        "domain_mode",
        "domains",
    ),
    "dry_run": (),
}
# Service error keys -> the form field the message belongs next to.
ERROR_FIELDS = {
    "audience": "list_names",
    "audience.list_names": "list_names",
    "audience.exclude_recent_days": "exclude_recent_days",
    "audience.template_id": "template_id",
    "start_at": "start_date",
    "step_delays": "step_delay_2",
}


def read_state(form: MultiDict[str, str], today: date | None = None) -> dict[str, Any]:
    """Every wizard field from a posted form, with the defaults for those never shown."""
    state: dict[str, Any] = {}
    for name, default in TEXTS.items():
        state[name] = form.get(name, default).strip()
    for name, flag in FLAGS.items():
        values = form.getlist(name)
        state[name] = values[-1] == "on" if values else flag
    for name in LISTS:
        state[name] = [value for value in form.getlist(name) if value.strip()]
    if not state["start_date"] and "start_date" not in form and today is not None:
        state["start_date"] = today.isoformat()
    return state


def hidden_fields(state: dict[str, Any], shown: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, value) pairs carrying every field not shown on the current step."""
    pairs: list[tuple[str, str]] = []
    for name in (*TEXTS, *FLAGS, *LISTS):
        if name in shown:
            continue
        value = state[name]
        if name in FLAGS:
            pairs.append((name, "on" if value else "off"))
        elif name in LISTS:
            pairs.extend((name, item) for item in value)
        else:
            pairs.append((name, value))
    return pairs


def start_at(state: dict[str, Any], zone: ZoneInfo, today: date) -> tuple[Any, dict[str, str]]:
    """The start moment (aware) from the local date and time fields; None: as soon as possible."""
    if not state["start_date"]:
        return None, {}
    errors: dict[str, str] = {}
    try:
        day = date.fromisoformat(state["start_date"])
    except ValueError:
        return None, {"start_date": _("pick a date")}
    if day < today:
        errors["start_date"] = _("pick today or a later day")
    try:
        moment = time.fromisoformat(state["start_time"] or "09:00")
    except ValueError:
        return None, {"start_time": _("pick a time, e.g. %(example)s", example="09:00")}
    if errors:
        return None, errors
    return datetime.combine(day, moment, tzinfo=zone), {}


def to_input(
    state: dict[str, Any], zone: ZoneInfo, today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's campaign input for the state, and errors of the fields only the form has."""
    moment, errors = start_at(state, zone, today)
    days: Any = state["exclude_recent_days"] if state["exclude_recent"] else None
    if state["exclude_recent"] and not days:
        errors["exclude_recent_days"] = _("give a number of days, or switch the filter off")
    if state["domain_mode"] == "chosen" and not state["domains"]:
        errors["domains"] = _("choose at least one domain, or let the domain be assigned")
    raw = {
        "name": state["name"],
        "template_id": state["template_id"],
        "audience": audience_input(state),
        "start_at": moment.isoformat() if moment else None,
        "followup_enabled": state["followup_enabled"],
        "followup_days": state["followup_days"],
        "step_delays": step_delays_input(state),
        "followup_attach_report": state["followup_attach_report"],
        "auto_winner_min_sends": state["auto_winner_min_sends"] or None,
        "domains": state["domains"] if state["domain_mode"] == "chosen" else [],
    }
    return raw, errors


def step_delays_input(state: dict[str, Any]) -> list[str]:
    """`[n2, n3, n4]` up to the last one filled in; an empty one before it takes the
    working days between mails, as it would on its own."""
    values = [state[name] for name in STEP_DELAY_FIELDS]
    while values and not values[-1]:
        values.pop()
    return [value or state["followup_days"] for value in values]


def audience_input(state: dict[str, Any]) -> dict[str, Any]:
    """The builder's settings as the audience API takes them."""
    return {
        "list_names": state["list_names"],
        "only_complete": state["only_complete"],
        "exclude_suppressed": state["exclude_suppressed"],
        "exclude_recent_days": state["exclude_recent_days"] if state["exclude_recent"] else None,
        "one_per_domain": state["one_per_domain"],
        "template_id": state["template_id"] or None,
    }


def form_errors(errors: dict[str, str]) -> dict[str, str]:
    """Service errors keyed by the form field they belong next to."""
    result: dict[str, str] = {}
    for key, message in errors.items():
        result.setdefault(ERROR_FIELDS.get(key, key), message)
    return result


def step_errors(errors: dict[str, str], steps: tuple[str, ...]) -> dict[str, str]:
    """Only the errors of fields on the given steps."""
    fields = {field for step in steps for field in STEP_FIELDS[step]}
    return {key: value for key, value in errors.items() if key in fields}


def first_step_with_errors(errors: dict[str, str]) -> str | None:
    for step in STEPS:
        if any(field in errors for field in STEP_FIELDS[step]):
            return step
    return None


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    try:
        return moment.astimezone(zone)
    except OverflowError:  # a stored value at the edge of datetime's range: keep it in UTC
        return moment


def state_from_campaign(campaign: Any, zone: ZoneInfo) -> dict[str, Any]:
    """The edit form's fields, filled from a saved campaign."""
    audience = campaign.audience
    local = _local(campaign.start_at, zone) if campaign.start_at else None
    days = audience.exclude_recent_days if audience else 14
    return {
        "name": campaign.name,
        "template_id": campaign.template_id,
        "list_names": list(audience.list_names or []) if audience else [],
        "only_complete": audience.only_complete if audience else True,
        "exclude_suppressed": audience.exclude_suppressed if audience else True,
        "exclude_recent": bool(days),
        "exclude_recent_days": str(days or 14),
        "one_per_domain": audience.one_per_domain if audience else False,
        "start_date": local.date().isoformat() if local else "",
        "start_time": local.strftime("%H:%M") if local else "09:00",
        "followup_enabled": campaign.followup_enabled,
        "followup_days": str(campaign.followup_days),
        **dict.fromkeys(STEP_DELAY_FIELDS, ""),
        **{
            name: str(days)
            for name, days in zip(STEP_DELAY_FIELDS, campaign.step_delays or [], strict=False)
        },
        "followup_attach_report": campaign.followup_attach_report,
        "auto_winner_min_sends": (
            "" if campaign.auto_winner_min_sends is None else str(campaign.auto_winner_min_sends)
        ),
        "domain_mode": "chosen" if campaign.domains else "auto",
        "domains": list(campaign.domains or []),
    }


def local_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def next_working_day(now: datetime, zone: ZoneInfo) -> date:
    """Tomorrow, or Monday after a Friday or weekend: the wizard's suggested start."""
    day = local_today(now, zone) + timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day
