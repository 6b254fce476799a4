"""The dry run's content warnings: what in the mails a plan would send may hurt delivery.

Added to a report when it is served, never kept with it: a template edited since the
report was made warns about what it says now, in the reader's language.
"""

from __future__ import annotations

from typing import Any

from webapp.extensions import db
from webapp.models import Template
from webapp.services.mail import check_steps
from webapp.services.planning.plans import PlanRequest


def content_warnings(request: PlanRequest) -> list[dict[str, Any]]:
    """`{mail_number, code, message}` for each warning about a step the plan sends."""
    template = db.session.get(Template, request.template_id) if request.template_id else None
    if template is None:
        return []
    last = request.steps if request.followup_enabled else 1
    return [w.to_dict() for w in check_steps([s for s in template.steps if s.mail_number <= last])]


def with_content_warnings(report: dict[str, Any], request: PlanRequest) -> dict[str, Any]:
    """The report with its `content_warnings` (a new dict: a kept report stays as kept)."""
    return {**report, "content_warnings": content_warnings(request)}
