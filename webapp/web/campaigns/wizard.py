"""The new-campaign wizard: name -> template -> audience -> schedule -> dry run -> create."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.security import requires
from webapp.services.campaigns import (
    AudienceError,
    CampaignInputError,
    available_lists,
    create_campaign,
    parse_campaign_input,
    parse_filters,
    plan_request_for_input,
)
from webapp.services.mail import get_template, list_templates
from webapp.services.planning import dry_run_report, list_domains
from webapp.web.campaigns.blueprint import bp
from webapp.web.campaigns.forms import (
    STEP_FIELDS,
    STEP_TITLES,
    STEPS,
    audience_input,
    first_step_with_errors,
    form_errors,
    hidden_fields,
    local_today,
    next_working_day,
    read_state,
    step_errors,
    to_input,
)
from webapp.web.campaigns.previews import audience_preview_context, step_previews


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["APP_TIMEZONE"])


@bp.get("/new")
@requires("run_campaigns")
def new() -> Any:
    now = utcnow()
    state = read_state(request.args, today=next_working_day(now, _zone()))
    return _render_step("name", state, {})


@bp.post("/new")
def wizard() -> Any:
    """Every step posts here with all fields; `go` says where to: back, next, a step, create."""
    now, zone = utcnow(), _zone()
    state = read_state(request.form)
    current = request.form.get("step", "name")
    current = current if current in STEPS else "name"
    go = request.form.get("go", "next")
    index = STEPS.index(current)
    if go == "back":
        return _render_step(STEPS[max(index - 1, 0)], state, {})
    if go.startswith("step:") and go[5:] in STEPS and STEPS.index(go[5:]) <= index:
        return _render_step(go[5:], state, {})
    errors = _errors(state, now, zone, check_audience=index >= STEPS.index("audience"))
    # Everything up to and including this step must be right before moving on.
    blocking = step_errors(errors, STEPS[: index + 1])
    if blocking:
        step = first_step_with_errors(blocking) or current
        return _render_step(step, state, step_errors(blocking, (step,)), status=422)
    if go == "create" and current == "dry_run":
        return _create(state, now, zone)
    return _render_step(STEPS[min(index + 1, len(STEPS) - 1)], state, {})


def _errors(
    state: dict[str, Any], now: Any, zone: ZoneInfo, check_audience: bool
) -> dict[str, str]:
    """Every field's error for the whole state (the caller picks the steps it shows)."""
    raw, errors = to_input(state, zone, local_today(now, zone))
    _values, service_errors = parse_campaign_input(raw, now)
    merged = {**form_errors(service_errors), **errors}
    if check_audience and "list_names" not in merged and "exclude_recent_days" not in merged:
        context = audience_preview_context(raw["audience"], now)
        if context["preview"] is not None and context["preview"].selected == 0:
            merged["list_names"] = _("these filters select no leads")
    return merged


def _create(state: dict[str, Any], now: Any, zone: ZoneInfo) -> Any:
    raw, _field_errors = to_input(state, zone, local_today(now, zone))
    try:
        campaign = create_campaign(raw, current_user.id, now)
    except CampaignInputError as error:
        db.session.rollback()
        errors = form_errors(error.fields)
        step = first_step_with_errors(errors) or "audience"
        return _render_step(step, state, step_errors(errors, (step,)), status=422)
    db.session.commit()
    flash(
        _("Created the draft “%(name)s”. Check it, then start it.", name=campaign.name), "success"
    )
    return redirect(url_for("campaigns.show", campaign_id=campaign.id), code=303)


def _render_step(
    step: str, state: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Any:
    now = utcnow()
    context: dict[str, Any] = {
        "step": step,
        "steps": [(name, STEP_TITLES[name]) for name in STEPS],
        "step_index": STEPS.index(step),
        "state": state,
        "errors": errors,
        "hidden": hidden_fields(state, STEP_FIELDS[step]),
    }
    if step == "template":
        templates = list_templates()
        context["templates"] = templates
        context["previews"] = {t.id: step_previews(t) for t in templates}
    elif step == "audience":
        context["lists"] = available_lists()
        context.update(audience_preview_context(audience_input(state), now))
    elif step == "schedule":
        context["domains"] = list_domains()
    elif step == "dry_run":
        context.update(_dry_run(state, now))
    return render_template("campaigns/new.html", **context), status


def _dry_run(state: dict[str, Any], now: Any) -> dict[str, Any]:

    zone = _zone()
    raw, _field_errors = to_input(state, zone, local_today(now, zone))
    try:
        plan_request = plan_request_for_input(raw, now)
    except (CampaignInputError, AudienceError):
        return {"report": None}
    template = get_template(state["template_id"])
    return {
        "report": dry_run_report(plan_request, now),
        "audience_size": len(plan_request.lead_ids),
        "template": template,
        "filters": parse_filters(raw["audience"]),
    }
