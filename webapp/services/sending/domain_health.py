"""Pausing a domain whose recent sends bounce or fail too often."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.formats import percent, thousands
from webapp.models import Message, MessageStatus, SendingDomain
from webapp.services.audit import AuditAction, record_action
from webapp.services.planning import replan_domain_campaigns

log = logging.getLogger("webapp.sending")

ATTEMPTED = (
    MessageStatus.SENT,
    MessageStatus.OPENED,
    MessageStatus.BOUNCED,
    MessageStatus.FAILED,
    MessageStatus.UNCERTAIN,
)


def recent_outcomes(domain: SendingDomain, window: int) -> list[str]:
    """Statuses of the domain's last `window` attempted sends, newest first."""
    return list(
        db.session.execute(
            sa.select(Message.status)
            .where(Message.domain_used == domain.name, Message.status.in_(ATTEMPTED))
            .order_by(Message.send_started_at.desc().nulls_last())
            .limit(window)
        ).scalars()
    )


def check_domain_health(domain: SendingDomain, now: datetime) -> bool:
    """Pause the domain (and re-plan its mail) when its bounce or failure share is too high."""
    config = current_app.config
    outcomes = recent_outcomes(domain, config["DOMAIN_HEALTH_WINDOW"])
    if domain.paused or len(outcomes) < config["DOMAIN_HEALTH_MIN_SENDS"]:
        return False
    bounced = outcomes.count(MessageStatus.BOUNCED) / len(outcomes)
    failed = outcomes.count(MessageStatus.FAILED) / len(outcomes)
    reason = None
    if bounced > config["DOMAIN_BOUNCE_THRESHOLD"]:
        reason = _(
            "%(share)s hard bounces in the last %(count)s sends",
            share=percent(bounced * 100, places=0),
            count=thousands(len(outcomes)),
        )
    elif failed > config["DOMAIN_FAILURE_THRESHOLD"]:
        reason = _(
            "%(share)s failed sends in the last %(count)s sends",
            share=percent(failed * 100, places=0),
            count=thousands(len(outcomes)),
        )
    if reason is None:
        return False
    domain.paused = True
    domain.paused_reason = _("paused automatically: %(reason)s", reason=reason)
    record_action(AuditAction.DOMAIN_PAUSED, "sending_domain", domain.id, None, {"reason": reason})
    log.warning("domain %s paused: %s", domain.name, reason)

    replan_domain_campaigns(domain.name, now)
    return True
