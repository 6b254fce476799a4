"""The outbox: what the embedded default 'sent', readable as the recipient would see it.

System mail (invitations, password resets without MAIL_SERVER) is listed too, marked as
such, for admins only: its links sign someone in, so it is an admin's to pass on.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template
from flask_login import current_user

from webapp.headers import allow_mail_view
from webapp.security import admin_required
from webapp.services.sending import list_outbox, outbox_attachment, read_outbox_mail
from webapp.web.outbox.blueprint import bp


@bp.get("/")
def index() -> Any:
    return render_template(
        "outbox/index.html",
        entries=list_outbox(current_app.config["OUTBOX_DIR"], include_system=current_user.is_admin),
        backend=current_app.config.get("MAIL_BACKEND"),
        system_mail_configured=bool(current_app.config.get("MAIL_SERVER")),
    )


def _show(name: str, system: bool) -> Any:
    mail = read_outbox_mail(current_app.config["OUTBOX_DIR"], name, system=system) or abort(404)
    # The mail's HTML is already shown without its tracking URLs; this is the second
    # line. The iframe's srcdoc inherits the page's policy, so the mail loads no image,
    # sound or plug-in from anywhere (only data: images): not the app's pixel, wherever
    # the app is served from, and no other sender's pixel either.
    allow_mail_view()
    return render_template("outbox/show.html", mail=mail)


@bp.get("/<name>")
def show(name: str) -> Any:
    return _show(name, system=False)


@bp.get("/system/<name>")
@admin_required
def show_system(name: str) -> Any:
    return _show(name, system=True)


@bp.get("/<name>/attachments/<path:filename>")
def attachment(name: str, filename: str) -> Any:
    found = outbox_attachment(current_app.config["OUTBOX_DIR"], name, filename) or abort(404)
    data, content_type = found
    return Response(
        data,
        content_type=content_type,
        headers={"Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"},
    )
