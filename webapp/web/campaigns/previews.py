"""What the campaign pages show beside the form: the live funnel and the template's steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webapp.models import Template
from webapp.services.campaigns import AudienceError, parse_filters, preview_audience
from webapp.services.mail import (
    RenderError,
    preview_steps,
    sample_context,
    template_variables,
)


def audience_preview_context(raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`preview` (or None) and `preview_errors` for the funnel fragment."""
    try:
        return {"preview": preview_audience(parse_filters(raw), now), "preview_errors": {}}
    except AudienceError as error:
        return {"preview": None, "preview_errors": error.fields}


def step_previews(template: Template) -> list[dict[str, Any]]:
    """Each step's subject and text with stand-in values, or why it cannot be rendered."""
    context = sample_context(template_variables(template))
    previews = []
    for step in template.steps:
        try:
            mail = preview_steps(template.steps, context, step.mail_number)
            previews.append(
                {"mail_number": step.mail_number, "subject": mail.subject, "text": mail.text}
            )
        except RenderError as error:
            previews.append({"mail_number": step.mail_number, "error": error.message})
    return previews
