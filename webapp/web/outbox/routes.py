"""The outbox: what the embedded default 'sent', readable as the recipient would see it."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template

from webapp.headers import allow_mail_view
from webapp.services.sending import list_outbox, outbox_attachment, read_outbox_mail
from webapp.web.outbox.blueprint import bp


@bp.get("/")
def index() -> Any:
    return render_template(
        "outbox/index.html",
        entries=list_outbox(current_app.config["OUTBOX_DIR"]),
        backend=current_app.config.get("MAIL_BACKEND"),
    )


@bp.get("/<name>")
def show(name: str) -> Any:
    mail = read_outbox_mail(current_app.config["OUTBOX_DIR"], name) or abort(404)
    # The mail's HTML is already shown without its tracking URLs; this is the second
    # line. The iframe's srcdoc inherits the page's policy, so the mail loads no image,
    # sound or plug-in from anywhere (only data: images): not the app's pixel, wherever
    # the app is served from, and no other sender's pixel either.
    allow_mail_view()
    return render_template("outbox/show.html", mail=mail)


@bp.get("/<name>/attachments/<path:filename>")
def attachment(name: str, filename: str) -> Any:
    found = outbox_attachment(current_app.config["OUTBOX_DIR"], name, filename) or abort(404)
    data, content_type = found
    return Response(
        data,
        content_type=content_type,
        headers={"Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"},
    )
