"""The editor's test mail: the saved step for the lead in the preview, sent to oneself."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.htmx import wants_fragment
from webapp.security import requires
from webapp.services.errors import InvalidInput
from webapp.services.mail import get_template
from webapp.services.sending import send_test_mail
from webapp.web.templates.blueprint import bp


@bp.post("/<template_id>/test-mail")
@requires("edit_templates")
def send_test(template_id: str) -> Any:
    template = get_template(template_id) or abort(404)
    # One choice on the page, `alias@domain`; the API takes the two apart.
    alias, _at, domain = request.form.get("sender", "").rpartition("@")
    values = {
        "lead_id": request.form.get("lead_id", ""),
        "mail_number": request.form.get("preview_mail", ""),
        "domain": domain,
        "alias": alias,
        "variant": request.form.get("preview_variant", ""),
    }
    try:
        sent = send_test_mail(
            template, values, recipient=current_user.email, user_id=current_user.id, now=utcnow()
        )
    except InvalidInput as error:
        db.session.rollback()
        return render_template("templates/_test_mail_result.html", error=error), 422
    db.session.commit()
    if wants_fragment():
        return render_template("templates/_test_mail_result.html", sent=sent)
    flash(_("Sent the test mail to %(to)s.", to=sent.to), "success")
    return redirect(url_for("templates.edit", template_id=template.id))
