"""The template editor: steps, inline checks on save, a live preview for a chosen lead."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from webapp.extensions import db
from webapp.headers import allow_mail_view
from webapp.models import VARIANT_KEYS
from webapp.security import can, requires
from webapp.services import tracking
from webapp.services.inputs import clamp_int
from webapp.services.leads import pick_leads
from webapp.services.mail import (
    MAX_STEPS,
    MAX_VARIANTS,
    PARTS,
    RenderedMail,
    RenderError,
    StepDraft,
    TemplateInvalid,
    Variant,
    check_template,
    create_template,
    get_template,
    lead_context,
    lead_for_preview,
    list_templates,
    preview_steps,
    sample_context,
    spin_seed,
    spin_versions,
    step_for_variant,
    template_variables,
    update_template,
    variables_in,
    variants_of,
)
from webapp.services.planning import list_domains
from webapp.web.templates.blueprint import bp

_STEP_FIELD = re.compile(r"^steps-([0-9]{1,3})-(subject|body_html|body_text)$")
_VARIANT_FIELD = re.compile(
    r"^steps-([0-9]{1,3})-variants-([A-D])-(subject|body_html|body_text|weight)$"
)


@bp.before_request
def _shows_mail() -> None:
    # The editor previews a mail in an iframe that inherits the page's policy.
    allow_mail_view()


@bp.get("/")
def index() -> Any:
    templates = list_templates()
    variables = {t.id: sorted(template_variables(t)) for t in templates}
    return render_template("templates/index.html", templates=templates, variables=variables)


@bp.get("/new")
@requires("edit_templates")
def new() -> Any:
    return _editor(None, "", [StepDraft(1)])


@bp.post("/")
def create() -> Any:
    name, steps = form_template(request.form)
    try:
        template, check = create_template(name, steps, current_user.id)
    except TemplateInvalid as error:
        db.session.rollback()
        return _editor(None, name, steps, errors=error.fields), 422
    db.session.commit()
    _flash_saved(template.name, check.warnings)
    return redirect(url_for("templates.edit", template_id=template.id))


@bp.get("/<template_id>")
def edit(template_id: str) -> Any:
    template = get_template(template_id) or abort(404)
    steps = [
        StepDraft(s.mail_number, s.subject, s.body_html, s.body_text, variants_of(s.variants))
        for s in template.steps
    ]
    return _editor(template, template.name, steps)


@bp.post("/<template_id>")
def update(template_id: str) -> Any:
    template = get_template(template_id) or abort(404)
    name, steps = form_template(request.form)
    try:
        check = update_template(template, name, steps, current_user.id)
    except TemplateInvalid as error:
        db.session.rollback()
        template = get_template(template_id) or abort(404)
        return _editor(template, name, steps, errors=error.fields), 422
    db.session.commit()
    _flash_saved(template.name, check.warnings)
    return redirect(url_for("templates.edit", template_id=template.id))


@bp.post("/steps")
def steps() -> Any:
    """Add, remove or move a step; the steps come back renumbered 1..n."""
    _name, drafts = form_template(request.form)
    html = render_template(
        "templates/_steps.html",
        steps=apply_step_action(drafts, request.form.get("action", "")),
        errors={},
        can_edit=True,
        max_steps=MAX_STEPS,
    )
    return html, 200, {"HX-Trigger-After-Settle": "steps-changed"}


@bp.post("/preview")
def preview() -> Any:
    """The live preview of the steps as typed (not saved yet)."""
    _name, drafts = form_template(request.form)
    return _preview(drafts, request.form)


@bp.get("/<template_id>/preview")
def saved_preview(template_id: str) -> Any:
    """The preview of a saved template, for those who may only read."""
    template = get_template(template_id) or abort(404)
    return _preview(list(template.steps), request.args)


@bp.get("/leads")
def leads() -> Any:
    """Lead picker options for an email or company search (htmx active search)."""
    found = pick_leads(request.args.get("q", ""))
    response = render_template("templates/_lead_options.html", leads=found, pick_first=True)
    return response, 200, {"HX-Trigger-After-Settle": "lead-picked"}


def form_template(form: MultiDict[str, str]) -> tuple[str, list[StepDraft]]:
    """The editor form as a name and steps, numbered 1..n in the order they were shown."""
    texts: dict[int, dict[str, str]] = {}
    variants: dict[int, dict[str, dict[str, str]]] = {}
    for key, value in form.items():
        match = _STEP_FIELD.match(key)
        if match:
            texts.setdefault(int(match[1]), {})[match[2]] = value.replace("\r\n", "\n")
        elif match := _VARIANT_FIELD.match(key):
            by_key = variants.setdefault(int(match[1]), {}).setdefault(match[2], {})
            by_key[match[3]] = value.replace("\r\n", "\n")
    steps = [
        StepDraft(
            position,
            **{part: texts[key].get(part, "") for part in PARTS},
            variants=_form_variants(variants.get(key, {})),
        )
        for position, key in enumerate(sorted(texts)[:MAX_STEPS], start=1)
    ]
    return form.get("name", ""), steps


def _form_variants(fields: dict[str, dict[str, str]]) -> tuple[Variant, ...]:
    """A step's variants as typed: a blank part is the step's own, a blank weight 1; a weight
    that is no whole number in range is kept out of range (0), for the check to name."""
    return tuple(
        Variant(
            key,
            _form_weight(values.get("weight", "")),
            **{
                part: values.get(part, "") if values.get(part, "").strip() else None
                for part in PARTS
            },
        )
        for key, values in sorted(fields.items())
    )


def _form_weight(raw: str) -> int:
    text = raw.strip()
    if not text:
        return 1
    return int(text) if re.fullmatch(r"[0-9]{1,4}", text) else 0


def apply_step_action(steps: list[StepDraft], action: str) -> list[StepDraft]:
    """`add`, `remove-N`, `up-N`, `down-N`, `variant-add-N`, `variant-remove-N-K`, then
    renumber 1..n."""
    steps = list(steps)
    if action.startswith("variant-"):
        return [_variant_action(step, action) for step in steps]
    verb, _dash, number = action.partition("-")
    index = clamp_int(number, 0, 0, MAX_STEPS + 1) - 1
    if verb == "add" and len(steps) < MAX_STEPS:
        steps.append(StepDraft(len(steps) + 1))
    elif verb == "remove" and 0 <= index < len(steps) and len(steps) > 1:
        del steps[index]
    elif verb == "up" and 0 < index < len(steps):
        steps[index - 1], steps[index] = steps[index], steps[index - 1]
    elif verb == "down" and 0 <= index < len(steps) - 1:
        steps[index], steps[index + 1] = steps[index + 1], steps[index]
    return [replace(s, mail_number=n) for n, s in enumerate(steps, start=1)]


def _variant_action(step: StepDraft, action: str) -> StepDraft:
    """A variant added to or removed from the step the action names. The first addition
    makes two (A and B: an experiment compares), and removing the last but one ends it."""
    parts = action.split("-")
    if len(parts) < 3 or parts[2] != str(step.mail_number):
        return step
    variants = list(step.variants)
    if parts[1] == "add" and len(variants) < MAX_VARIANTS:
        free = [key for key in VARIANT_KEYS if key not in {v.key for v in variants}]
        variants += [Variant(key) for key in free[: 2 if not variants else 1]]
    elif parts[1] == "remove" and len(parts) == 4:
        variants = [v for v in variants if v.key != parts[3]]
        if len(variants) < 2:
            variants = []
    return replace(step, variants=tuple(variants))


def _editor(
    template: Any, name: str, steps: list[StepDraft], errors: dict[str, str] | None = None
) -> str:
    check = check_template(name, steps, template.id) if template and not errors else None
    return render_template(
        "templates/edit.html",
        template=template,
        name=name,
        steps=steps,
        errors=errors or {},
        warnings=check.warnings if check else [],
        variables=sorted(variables_in(getattr(s, p) for s in steps for p in PARTS)),
        can_edit=can("edit_templates"),
        max_steps=MAX_STEPS,
        variant_keys=VARIANT_KEYS,
        leads=pick_leads(""),
        # The senders a test mail can come from (a saved template, for those who edit).
        sending_domains=list_domains() if template is not None and can("edit_templates") else [],
    )


def _preview(steps: list[Any], values: MultiDict[str, str]) -> Any:
    lead = lead_for_preview(values.get("lead_id", ""))
    mail_number = values.get("preview_mail", "1")
    mail_number_int = clamp_int(mail_number, 1, 1, MAX_STEPS)
    names = sorted(variables_in(getattr(s, p) for s in steps for p in PARTS))
    context = lead_context(lead) if lead is not None else sample_context(names)
    # A variant of the step when asked for (the editor knows no campaign, so no lead's own).
    asked = values.get("preview_variant", "")
    variant = asked if asked in VARIANT_KEYS else None
    step = next((s for s in steps if s.mail_number == mail_number_int), None)
    versions = spin_versions(step_for_variant(step, variant)) if step is not None else 1
    # A version number picks one of the step's spintax versions; without one a lead shows
    # its own, and stand-in values the first.
    version: int | None = None
    spin: str | int
    spin_first: str | int = 0
    if lead is not None:
        spin = spin_seed(lead.id, mail_number_int)
        spin_first = spin_seed(lead.id, 1)
    if values.get("preview_version", "").strip() or lead is None:
        version = clamp_int(values.get("preview_version", ""), 1, 1, versions)
        spin = version - 1
    variables = {"variables": names, "versions": versions, "version": version}
    try:
        mail = preview_steps(
            steps, context, mail_number_int, spin=spin, spin_first=spin_first, variant=variant
        )
    except RenderError as error:
        html = render_template("templates/_preview.html", error=error, lead=lead, **variables)
        return html, 422
    shown = _untracked(mail)
    return render_template("templates/_preview.html", mail=shown, lead=lead, **variables)


def _untracked(mail: RenderedMail) -> RenderedMail:
    """The preview without live tracking URLs (docs/rules.md, decision 8).

    The preview makes none itself; this catches a pixel or tracked link pasted into a
    template from a mail that was sent, which would count an open or a click of that lead.
    """
    return replace(
        mail, html=tracking.untracked_html(mail.html), text=tracking.untracked_text(mail.text)
    )


def _flash_saved(name: str, warnings: list[str]) -> None:
    # The warnings show on the editor page itself, which is where this redirects.
    if warnings:
        flash(_("Saved %(name)s. Some leads lack its variables.", name=name), "success")
    else:
        flash(_("Saved %(name)s.", name=name), "success")
