"""Mail templates: reading, checking and saving a flow of one to four steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.database import utcnow
from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import (
    Campaign,
    CampaignAudience,
    CampaignStatus,
    Lead,
    Message,
    MessageStatus,
    Template,
    TemplateStep,
)
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import InvalidInput
from webapp.services.mail.rendering import (
    LEAD_COLUMNS,
    PREVIEW_SENDER,
    PREVIEW_UNSUBSCRIBE_URL,
    RenderError,
    RenderProblem,
    StepDraft,
    StepSource,
    compile_part,
    render_sources,
    required_variables_in,
    sample_context,
    step_for_variant,
    step_texts,
    template_required_variables,
    template_variables,
    variables_in,
)
from webapp.services.mail.variants import MAX_VARIANTS, MAX_WEIGHT, parse_variants, variants_of

MAX_STEPS = 4
MAX_NAME = 200
PARTS = ("subject", "body_html", "body_text")
# Campaigns that may still send: their lists are the leads a template's warnings count.
SENDING_CAMPAIGNS = (CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED)


class TemplateInvalid(InvalidInput):
    """A template that cannot be saved; `fields` says what is wrong where."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields, _("the template has errors"))


@dataclass
class TemplateCheck:
    """The outcome of checking a template: errors block saving, warnings do not."""

    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    # The variables used at least once without a fallback: a lead must have these.
    required_variables: list[str] = field(default_factory=list)


def step_field(mail_number: int, part: str) -> str:
    """The field name errors are reported under: `steps.2.body_html`."""
    return f"steps.{mail_number}.{part}"


def list_templates() -> list[Template]:
    """Every template, newest change first."""
    return list(
        db.session.execute(sa.select(Template).order_by(Template.updated_at.desc())).scalars()
    )


def get_template(template_id: str) -> Template | None:
    return db.session.get(Template, template_id)


def template_to_dict(template: Template) -> dict[str, Any]:
    """The template as the API shows it."""
    return {
        "id": template.id,
        "name": template.name,
        "steps": [
            {
                "mail_number": step.mail_number,
                "subject": step.subject,
                "body_html": step.body_html,
                "body_text": step.body_text,
                "variants": [variant.to_dict() for variant in variants_of(step.variants)],
            }
            for step in template.steps
        ],
        "variables": sorted(template_variables(template)),
        "required_variables": sorted(template_required_variables(template)),
        "created_at": template.created_at.isoformat(),
        "updated_at": template.updated_at.isoformat(),
    }


def parse_steps(raw: Any) -> tuple[list[StepDraft], dict[str, str]]:
    """Steps from a JSON list (mail_number optional: the position); errors by field."""
    if not isinstance(raw, list) or not raw:
        return [], {"steps": _("give one to four steps")}
    if len(raw) > MAX_STEPS:
        return [], {"steps": _("a template has at most %(max)s steps", max=MAX_STEPS)}
    errors: dict[str, str] = {}
    steps: list[StepDraft] = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            errors[f"steps.{position}"] = _("each step is an object")
            continue
        number = item.get("mail_number", position)
        if isinstance(number, bool) or not isinstance(number, int):
            errors[f"steps.{position}.mail_number"] = _("a whole number from 1 to 4")
            continue
        texts = {part: item.get(part) or "" for part in PARTS}
        for part, value in texts.items():
            if not isinstance(value, str):
                errors[step_field(number, part)] = _("must be text")
        variants, variant_errors = parse_variants(item.get("variants"), f"steps.{number}")
        errors.update(variant_errors)
        if not errors:
            steps.append(StepDraft(number, **texts, variants=variants))
    numbers = sorted(step.mail_number for step in steps)
    if not errors and numbers != list(range(1, len(steps) + 1)):
        errors["steps"] = _("mail numbers run 1, 2, ... without gaps or repeats")
    return sorted(steps, key=lambda step: step.mail_number), errors


def check_template(
    name: str, steps: list[StepDraft], template_id: str | None = None
) -> TemplateCheck:
    """Errors (syntax with its line, unsafe code, missing subjects) and lead-data warnings.

    The warnings count the leads of the lists of the campaigns that use the template
    (`template_id`) and may still send, or every lead when there are none.
    """
    check = TemplateCheck()
    if not name.strip():
        check.errors["name"] = _("give the template a name")
    elif len(name) > MAX_NAME:
        check.errors["name"] = _("at most %(max)s characters", max=thousands(MAX_NAME))
    if not steps:
        check.errors.setdefault("steps", _("a template has at least one step"))
    for step in steps:
        check.errors.update(_check_step(step))
    sources = [text for step in steps for text in step_texts(step)]
    check.variables = sorted(variables_in(sources))
    required = required_variables_in(sources)
    check.required_variables = sorted(required)
    lists = campaign_list_names(template_id) if template_id else []
    check.warnings = variable_warnings(required, lists)
    return check


def _check_step(step: StepDraft) -> dict[str, str]:
    """The step's own errors, then each variant's, under the variant's own fields."""
    errors = _check_texts(step)
    if len(step.variants) == 1:  # the editor's form can send one; the API refuses it too
        errors[f"steps.{step.mail_number}.variants"] = _(
            "an experiment has %(min)s to %(max)s variants", min=2, max=MAX_VARIANTS
        )
    for position, variant in enumerate(step.variants, start=1):
        if not 1 <= variant.weight <= MAX_WEIGHT:
            errors[f"steps.{step.mail_number}.variants.{position}.weight"] = _(
                "a whole number from 1 to %(max)s", max=MAX_WEIGHT
            )
        own = {part for part in PARTS if getattr(variant, part) is not None}
        if variant.has_body:
            own |= {"body_html", "body_text"}
        found = _check_texts(step_for_variant(step, variant.key))
        for part in PARTS:
            # A part the variant takes from the base has the base's error, shown once there.
            error = found.get(step_field(step.mail_number, part))
            if error is not None and part in own:
                errors[f"steps.{step.mail_number}.variants.{position}.{part}"] = error
    return errors


def _check_texts(step: StepSource) -> dict[str, str]:
    errors: dict[str, str] = {}
    for part in PARTS:
        source = getattr(step, part)
        if not source.strip():
            continue
        try:
            compile_part(source, part)
        except RenderError as error:
            errors[step_field(step.mail_number, part)] = _located(error)
    subject_field = step_field(step.mail_number, "subject")
    if step.mail_number == 1 and not step.subject.strip():
        errors.setdefault(subject_field, _("the first mail needs a subject"))
    if "\n" in step.subject.strip() or "\r" in step.subject:
        errors.setdefault(subject_field, _("a subject is one line"))
    if not step.body_html.strip() and not step.body_text.strip():
        errors[step_field(step.mail_number, "body_html")] = _("write an HTML or a text body")
    if errors:
        return errors
    # A trial render on stand-in values finds what only shows when running: attribute
    # walks, loops and sizes past the limits. Lead-dependent failures are for the preview.
    names = variables_in(getattr(step, part) for part in PARTS)
    context = sample_context(names) | {
        "sender": PREVIEW_SENDER,
        "unsubscribe_url": PREVIEW_UNSUBSCRIBE_URL,
        "tracking": None,
    }
    try:
        render_sources(step, context, subject_fallback="Re: ...")
    except RenderError as error:
        if error.kind in (RenderProblem.UNSAFE, RenderProblem.LIMIT, RenderProblem.SUBJECT):
            part = error.part or "body_html"
            errors[step_field(step.mail_number, part)] = _located(error)
    return errors


def _located(error: RenderError) -> str:
    """The error message without the part label (the field already says which part)."""
    return error.located


def campaign_list_names(template_id: str) -> list[str]:
    """The lead lists of the campaigns that use the template and may still send, by name."""
    rows = db.session.execute(
        sa.select(CampaignAudience.list_names)
        .join(Campaign, Campaign.id == CampaignAudience.campaign_id)
        .where(Campaign.template_id == template_id, Campaign.status.in_(SENDING_CAMPAIGNS))
    ).scalars()
    return sorted({name for names in rows for name in names or () if isinstance(name, str)})


def lacking_counts(
    names: Iterable[str], list_names: Sequence[str] = ()
) -> tuple[int, dict[str, int]]:
    """(leads, {variable: leads that lack it}) over leads not deleted, counted in SQL.

    Only the leads of `list_names` when given, else every lead.
    """
    names = sorted(set(names))
    columns = [sa.func.count().label("total")]
    for index, name in enumerate(names):
        value = sa.func.coalesce(sa.func.trim(Lead.vars[name].as_string()), "")
        lacking = value == ""
        if name in LEAD_COLUMNS:
            column = sa.func.coalesce(sa.func.trim(getattr(Lead, name)), "")
            lacking = sa.and_(column == "", lacking)
        columns.append(
            sa.func.coalesce(sa.func.sum(sa.case((lacking, 1), else_=0)), 0).label(f"v{index}")
        )
    statement = sa.select(*columns).where(Lead.deleted_at.is_(None))
    if list_names:
        statement = statement.where(Lead.list_name.in_(list_names))
    row = db.session.execute(statement).one()
    return int(row.total), {name: int(row[index + 1]) for index, name in enumerate(names)}


def variable_warnings(names: Iterable[str], list_names: Sequence[str] = ()) -> list[str]:
    """One line for each variable some leads lack, with how many and of which leads.

    `names` are the variables a lead must have (used without a fallback); the leads are
    those of `list_names` when given, else all of them.
    """
    total, lacking = lacking_counts(names, list_names)
    if total == 0:
        return []
    values = {"lists": ", ".join(list_names), "total": thousands(total)}
    warnings = []
    for name, count in lacking.items():
        if count == total and list_names:
            warnings.append(
                ngettext(
                    "No lead in %(lists)s has %(name)s (the only one lacks it).",
                    "No lead in %(lists)s has %(name)s (all %(total)s lack it).",
                    total,
                    name=name,
                    **values,
                )
            )
        elif count == total:
            warnings.append(
                ngettext(
                    "No lead has %(name)s (the only one lacks it).",
                    "No lead has %(name)s (all %(total)s lack it).",
                    total,
                    name=name,
                    **values,
                )
            )
        elif count and list_names:
            warnings.append(
                ngettext(
                    "%(count)s of the %(total)s leads in %(lists)s lacks %(name)s; it cannot get"
                    " this template.",
                    "%(count)s of the %(total)s leads in %(lists)s lack %(name)s; they cannot get"
                    " this template.",
                    count,
                    count=thousands(count),
                    name=name,
                    **values,
                )
            )
        elif count:
            warnings.append(
                ngettext(
                    "%(count)s of all %(total)s leads lacks %(name)s; it cannot get this template.",
                    "%(count)s of all %(total)s leads lack %(name)s; they cannot get this"
                    " template.",
                    count,
                    count=thousands(count),
                    name=name,
                    **values,
                )
            )
    return warnings


def create_template(
    name: str, steps: list[StepDraft], user_id: str | None
) -> tuple[Template, TemplateCheck]:
    """A new template after checking it; raises TemplateInvalid. The caller commits."""
    check = check_template(name, steps)
    if check.errors:
        raise TemplateInvalid(check.errors)
    template = Template(name=name.strip())
    template.steps = [TemplateStep(**_step_values(step)) for step in steps]
    db.session.add(template)
    db.session.flush()
    record_action(
        AuditAction.TEMPLATE_CREATE, "template", template.id, user_id, {"name": template.name}
    )
    return template, check


def update_template(
    template: Template, name: str, steps: list[StepDraft], user_id: str | None
) -> TemplateCheck:
    """Replace name and steps after checking them; raises TemplateInvalid. The caller commits."""
    check = check_template(name, steps, template.id)
    if check.errors:
        raise TemplateInvalid(check.errors)
    in_use = _variants_still_queued(template, steps)
    if in_use:
        raise TemplateInvalid(in_use)
    template.name = name.strip()
    template.updated_at = utcnow()  # also when only the steps changed
    # Update steps in place by mail number: deleting and re-adding the same number in one
    # flush would trip the (template_id, mail_number) unique key.
    existing = {step.mail_number: step for step in template.steps}
    wanted = {step.mail_number for step in steps}
    for number, dropped in list(existing.items()):
        if number not in wanted:
            template.steps.remove(dropped)
    db.session.flush()
    for draft in steps:
        step = existing.get(draft.mail_number)
        if step is None:
            template.steps.append(TemplateStep(**_step_values(draft)))
        else:
            for part in PARTS:
                setattr(step, part, getattr(draft, part))
            step.variants = [variant.to_dict() for variant in draft.variants]
    template.steps.sort(key=lambda step: step.mail_number)
    db.session.flush()
    record_action(
        AuditAction.TEMPLATE_UPDATE, "template", template.id, user_id, {"name": template.name}
    )
    return check


def _variants_still_queued(template: Template, steps: list[StepDraft]) -> dict[str, str]:
    """Variants the new steps drop while mail of a started campaign still waits to go out as
    them: that mail would leave as the base text and be counted as the variant, so the
    experiment's figures would lie. Declaring a winner first moves it."""
    kept = {step.mail_number: {v.key for v in step.variants} for step in steps}
    errors: dict[str, str] = {}
    for step in template.steps:
        dropped = {v.key for v in variants_of(step.variants)} - kept.get(step.mail_number, set())
        if not dropped:
            continue
        queued = db.session.execute(
            sa.select(Message.variant, sa.func.count())
            .join(Campaign, Campaign.id == Message.campaign_id)
            .where(
                Campaign.template_id == template.id,
                Campaign.status.in_((CampaignStatus.RUNNING, CampaignStatus.PAUSED)),
                Message.mail_number == step.mail_number,
                Message.status == MessageStatus.QUEUED,
                Message.variant.in_(sorted(dropped)),
            )
            .group_by(Message.variant)
        ).all()
        if queued:
            keys = ", ".join(sorted(str(key) for key, _count in queued))
            total = sum(count for _key, count in queued)
            errors[f"steps.{step.mail_number}.variants"] = _(
                "variant %(keys)s still has %(count)s mails waiting in started campaigns: "
                "declare a winner for mail %(number)s first, or keep the variant",
                keys=keys,
                count=thousands(total),
                number=step.mail_number,
            )
    return errors


def _step_values(step: StepDraft) -> dict[str, Any]:
    return (
        {"mail_number": step.mail_number}
        | {part: getattr(step, part) for part in PARTS}
        | {"variants": [variant.to_dict() for variant in step.variants]}
    )


def lead_for_preview(lead_id: str | None) -> Lead | None:
    """The lead (not deleted) a preview is for, or None."""
    lead = db.session.get(Lead, lead_id) if lead_id else None
    return lead if lead is not None and lead.deleted_at is None else None
