"""Operator actions on single messages."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.models import Lead, Message
from webapp.services.campaigns import message_to_dict, send_moments
from webapp.services.sending import (
    DECISIONS,
    decide_uncertain,
    resend_message,
)
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


def _message(message_id: str) -> Message:
    message = db.session.get(Message, message_id)
    if message is None:
        raise ApiError(404, _("no message %(id)s", id=repr(message_id)))
    return message


def _answer(message: Message) -> dict[str, Any]:
    lead = db.session.get(Lead, message.lead_id)
    return message_to_dict(
        message,
        lead.email if lead else "",
        lead.company if lead else None,
        send_moments([message]).get(message.id),
    )


@bp.post("/messages/<message_id>/resend")
def messages_resend(message_id: str) -> Any:
    message = _message(message_id)
    resend_message(message, current_user.id, utcnow())
    db.session.commit()
    return _answer(message)


@bp.post("/messages/<message_id>/decide")
def messages_decide(message_id: str) -> Any:
    outcome = json_body().get("outcome")
    if outcome not in DECISIONS:
        raise ApiError(422, _("invalid decision"), {"outcome": _("must be 'sent' or 'resend'")})
    message = _message(message_id)
    decide_uncertain(message, outcome, current_user.id, utcnow())
    db.session.commit()
    return _answer(message)
