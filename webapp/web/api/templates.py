"""Mail templates over the API: list, create, read, replace, preview for a lead, test mail."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.models import VARIANT_KEYS, Lead, Template
from webapp.services.mail import (
    RenderError,
    create_template,
    get_template,
    list_templates,
    parse_steps,
    render_preview,
    template_to_dict,
    update_template,
)
from webapp.services.sending import send_test_mail
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


@bp.get("/templates")
def templates_index() -> Any:
    return [template_to_dict(template) for template in list_templates()]


@bp.post("/templates")
def templates_create() -> Any:
    name, steps = _template_input(json_body())
    template, check = create_template(name, steps, current_user.id)
    db.session.commit()
    return template_to_dict(template) | {"warnings": check.warnings}, 201


@bp.get("/templates/<template_id>")
def templates_show(template_id: str) -> Any:
    return template_to_dict(_template_or_404(template_id))


@bp.put("/templates/<template_id>")
def templates_update(template_id: str) -> Any:
    template = _template_or_404(template_id)
    name, steps = _template_input(json_body())
    check = update_template(template, name, steps, current_user.id)
    db.session.commit()
    return template_to_dict(template) | {"warnings": check.warnings}


@bp.post("/templates/<template_id>/preview")
def templates_preview(template_id: str) -> Any:
    template = _template_or_404(template_id)
    body = json_body()
    lead_id, mail_number = body.get("lead_id"), body.get("mail_number", 1)
    lead = db.session.get(Lead, lead_id) if isinstance(lead_id, str) else None
    if lead is None or lead.deleted_at is not None:
        raise ApiError(422, _("no such lead"), {"lead_id": _("no lead with this id")})
    if isinstance(mail_number, bool) or mail_number not in range(1, 5):
        raise ApiError(422, _("no such mail"), {"mail_number": _("a whole number from 1 to 4")})
    variant = body.get("variant")
    if variant is not None and variant not in VARIANT_KEYS:
        raise ApiError(422, _("no such variant"), {"variant": _("one of A, B, C and D")})
    try:
        mail = render_preview(template, lead, mail_number, variant)
    except RenderError as error:
        current_app.logger.info("preview of template %s refused: %s", template.id, error)
        if error.missing:
            fields = dict.fromkeys(error.missing, _("missing or empty for this lead"))
        else:
            fields = {"template": error.message}
        raise ApiError(422, error.message, fields) from None
    return {"subject": mail.subject, "html": mail.html, "text": mail.text}


@bp.post("/templates/<template_id>/test-mail")
def templates_test_mail(template_id: str) -> Any:
    """One step for a lead, from a domain and alias, to the caller: marked, untracked, uncounted."""
    template = _template_or_404(template_id)
    sent = send_test_mail(
        template, json_body(), recipient=current_user.email, user_id=current_user.id, now=utcnow()
    )
    db.session.commit()
    return {"sent": True, "to": sent.to, "subject": sent.subject}


def _template_or_404(template_id: str) -> Template:
    template = get_template(template_id)
    if template is None:
        raise ApiError(404, _("no such template"))
    return template


def _template_input(body: dict[str, Any]) -> tuple[str, list[Any]]:
    name = body.get("name")
    steps, errors = parse_steps(body.get("steps"))
    if not isinstance(name, str):
        errors["name"] = _("give the template a name")
        name = ""
    if errors:
        raise ApiError(422, _("the template has errors"), errors)
    return name, steps
