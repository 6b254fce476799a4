"""The suppression list: search it, add an address or a domain, remove one (admins)."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

from webapp.extensions import db
from webapp.formats import thousands
from webapp.htmx import render_page_or_fragment
from webapp.models import Suppression, SuppressionReason
from webapp.models.leads import SUPPRESSION_REASONS
from webapp.security import admin_required
from webapp.services.inputs import MAX_PAGE, clamp_int
from webapp.services.leads import (
    DomainImpact,
    SuppressionError,
    add_suppression,
    domain_suppression_impact,
    remove_suppression,
    search_suppressions,
)
from webapp.web.suppressions.blueprint import bp

# The form's fields, as named in an error message.
FIELD_LABELS = {"value": _l("Address or domain"), "reason": _l("Reason")}


def _render(
    status: int = 200,
    errors: dict[str, str] | None = None,
    message: str = "",
    confirm: DomainImpact | None = None,
) -> Any:
    q = request.values.get("q", "")
    page = search_suppressions(q, clamp_int(request.values.get("page"), 1, 1, MAX_PAGE))
    html = render_page_or_fragment(
        "suppressions/index.html",
        "suppressions/_list.html",
        results=page,
        q=q,
        reasons=SUPPRESSION_REASONS,
        errors=errors or {},
        field_labels=FIELD_LABELS,
        form=request.form,
        message=message,
        confirm=confirm,
    )
    return html, status


@bp.get("/")
def index() -> Any:
    return _render()


@bp.post("/")
def create() -> Any:
    form = request.form
    kind = form.get("kind", "email")
    value = form.get("value", "")
    try:
        if kind == "domain" and form.get("confirm") != "yes":
            # A whole domain can reach many leads: say how many and ask first.
            impact = domain_suppression_impact(value)
            if not impact.suppressed:
                return _render(confirm=impact)
        suppression, created = add_suppression(
            email=value if kind == "email" else None,
            domain=value if kind == "domain" else None,
            reason=form.get("reason", SuppressionReason.MANUAL),
            note=form.get("note") or None,
            user_id=current_user.id,
        )
    except SuppressionError as error:
        db.session.rollback()
        errors = {"value": error.fields.get("email") or error.fields.get("domain") or ""}
        errors["reason"] = error.fields.get("reason", "")
        return _render(422, errors)
    db.session.commit()
    what = suppression.email or suppression.domain
    if created:
        return _render(message=_("Suppressed %(what)s.", what=what))
    return _render(message=_("%(what)s was already suppressed.", what=what))


@bp.post("/<suppression_id>/delete")
@admin_required
def delete(suppression_id: str) -> Any:
    suppression = db.session.get(Suppression, suppression_id) or abort(404)
    what = suppression.email or suppression.domain
    restored = remove_suppression(suppression, current_user.id)
    db.session.commit()
    return _render(
        message=ngettext(
            "Removed %(what)s; %(count)s lead is active again.",
            "Removed %(what)s; %(count)s leads are active again.",
            restored,
            what=what,
            count=thousands(restored),
        )
    )
