"""Long plan writes outside the request: a campaign's pending action, its lease and progress.

A start, resume, stop or re-plan of a large campaign is recorded in the request
(`campaigns.pending_action` and a `campaign_actions` row, one conditional UPDATE, so no
second action can begin) and run by a job after the request commits. The job applies the
whole change in one transaction that also clears the pending action: a crash leaves the
campaign as it was. While it runs, a thread renews the action's lease and progress on its
own connection; a lease nobody renews lost its process, and the sweep fails the action
and clears the campaign, so a retry can begin.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.database import affected_rows, utcnow
from webapp.extensions import db
from webapp.failpoints import failpoint
from webapp.models import (
    ActionStatus,
    Campaign,
    CampaignAction,
    Message,
    MessageStatus,
    PendingAction,
)
from webapp.queue import enqueue_after_commit, get_queue
from webapp.services.errors import Conflict

# Campaign changes that touch more messages than this run as a job; fewer, in the request.
BACKGROUND_MESSAGES = 5000
JOB = "run_campaign_action"
# A start of 100,000 messages takes seconds; an hour bounds a stuck statement.
ACTION_TIMEOUT_SECONDS = 3600
HEARTBEAT_SECONDS = 5.0
# A running action whose lease is older than this lost its process (PostgreSQL rolled its
# transaction back when the connection died).
STALE_AFTER = timedelta(seconds=60)
# SQLite has one writer: the lease cannot be renewed while the job writes.
STALE_AFTER_SQLITE = timedelta(minutes=30)
# A pending action no worker took: enqueued again (a lost job), then given up.
REQUEUE_AFTER = timedelta(minutes=2)
GIVE_UP_AFTER = timedelta(minutes=30)

# What a campaign is doing while its action is pending, as its page and list show it.
DOING: dict[str, Any] = {
    PendingAction.START: _l("starting"),
    PendingAction.RESUME: _l("resuming"),
    PendingAction.STOP: _l("stopping"),
    PendingAction.REPLAN: _l("re-planning"),
}


def doing_word(action: str) -> str:
    """The pending action as a word in the reader's language."""
    word = DOING.get(action)
    return str(word) if word is not None else action


class ActionPending(Conflict):
    """Another start, resume, stop or re-plan of this campaign has not finished (a 409)."""

    default_code = "action_pending"

    def __init__(self, name: str, action: str) -> None:
        super().__init__(
            _(
                "“%(name)s” is %(doing)s; wait until that is done, then try again.",
                name=name,
                doing=doing_word(action),
            )
        )
        self.action = action


def background_messages() -> int:
    """Above this many messages, a campaign change runs as a job (CAMPAIGN_BACKGROUND_MESSAGES)."""
    value = current_app.config.get("CAMPAIGN_BACKGROUND_MESSAGES")
    return BACKGROUND_MESSAGES if value is None else int(value)


def queued_count(campaign_id: str) -> int:
    """The campaign's queued messages: what a resume, stop or re-plan moves."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Message.campaign_id == campaign_id, Message.status == MessageStatus.QUEUED
            )
        )
        or 0
    )


def record_pending(
    campaign: Campaign,
    action: str,
    user_id: str | None,
    total: int,
    *conditions: sa.ColumnElement[bool],
) -> CampaignAction | None:
    """Mark the campaign as waiting for `action` and enqueue its job after commit.

    None when another action is pending or `conditions` (the statuses it may start from)
    no longer hold; the caller says which. One conditional UPDATE: two requests racing
    serialise on the campaign's row.
    """
    result = db.session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.pending_action.is_(None), *conditions)
        .values(pending_action=action)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(campaign)
    if affected_rows(result) != 1:
        return None
    row = CampaignAction(
        campaign_id=campaign.id,
        action=action,
        status=ActionStatus.PENDING,
        total=total,
        requested_by_id=user_id,
    )
    db.session.add(row)
    db.session.flush()
    enqueue_after_commit(JOB, row.id, timeout=ACTION_TIMEOUT_SECONDS)
    return row


def open_actions(campaign_ids: list[str]) -> dict[str, CampaignAction]:
    """The pending or running action of each campaign that has one."""
    if not campaign_ids:
        return {}
    rows = db.session.scalars(
        sa.select(CampaignAction)
        .where(
            CampaignAction.campaign_id.in_(campaign_ids),
            CampaignAction.status.in_((ActionStatus.PENDING, ActionStatus.RUNNING)),
        )
        .order_by(CampaignAction.created_at)
    )
    return {row.campaign_id: row for row in rows}


def latest_action(campaign_id: str) -> CampaignAction | None:
    """The campaign's most recent action, whatever its status."""
    return db.session.scalars(
        sa.select(CampaignAction)
        .where(CampaignAction.campaign_id == campaign_id)
        .order_by(CampaignAction.created_at.desc(), CampaignAction.id.desc())
        .limit(1)
    ).first()


def get_action(action_id: str) -> CampaignAction | None:
    return db.session.get(CampaignAction, action_id)


def action_to_dict(action: CampaignAction) -> dict[str, Any]:
    """An action as the API shows it: what, how far, and how it ended."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": action.id,
        "campaign_id": action.campaign_id,
        "action": action.action,
        "status": action.status,
        "phase": action.phase,
        "done": action.done,
        "total": action.total,
        "affected": action.affected,
        "error": action.error,
        "created_at": iso(action.created_at),
        "started_at": iso(action.started_at),
        "heartbeat_at": iso(action.heartbeat_at),
        "finished_at": iso(action.finished_at),
    }


class Lease:
    """Renews a running action's lease every few seconds, and writes its progress, on a
    connection of its own: the job's transaction is invisible until it commits."""

    def __init__(self, action_id: str) -> None:
        self.action_id = action_id
        self.engine = db.engine
        self.sqlite = self.engine.dialect.name == "sqlite"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="action-lease", daemon=True)

    def __enter__(self) -> Lease:
        if not self.sqlite:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()

    def progress(self, phase: str, done: int | None = None, total: int | None = None) -> None:
        """Say what the job is doing now (and how far it got)."""
        values: dict[str, Any] = {"phase": phase}
        if done is not None:
            values["done"] = done
        if total is not None:
            values["total"] = total
        self._write(values)

    def _beat(self) -> None:
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            self._write({})

    def _write(self, values: dict[str, Any]) -> None:
        if self.sqlite:  # one writer: the job's own transaction holds it
            return
        table = CampaignAction.__table__
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.update(table)
                    .where(table.c.id == self.action_id, table.c.status == ActionStatus.RUNNING)
                    .values(heartbeat_at=utcnow(), **values)
                )
        except sa.exc.SQLAlchemyError:  # a missed beat is only a missed beat
            current_app.logger.warning("could not renew the lease of action %s", self.action_id)


Work = Callable[[Campaign, CampaignAction, Lease], int]


def run_pending(action_id: str, work: Work) -> str:
    """Run a recorded action once: claim it, apply `work` in one transaction that also
    clears the campaign's pending action, and record how it ended. Returns its status."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(CampaignAction)
        .where(CampaignAction.id == action_id, CampaignAction.status == ActionStatus.PENDING)
        .values(status=ActionStatus.RUNNING, started_at=now, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    action = db.session.get(CampaignAction, action_id)
    if action is None:
        return "gone"
    if not affected_rows(claimed):
        return action.status  # done, failed, or another worker runs it
    campaign = db.session.get(Campaign, action.campaign_id)
    assert campaign is not None  # the action cascades with its campaign
    kind = action.action
    with Lease(action_id) as lease:
        try:
            affected = work(campaign, action, lease)
            failpoint("campaign_action.before_commit")
            lease.stop()
            _clear(campaign.id, kind)
            db.session.execute(
                sa.update(CampaignAction)
                .where(CampaignAction.id == action_id)
                .values(status=ActionStatus.DONE, affected=affected, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
            return ActionStatus.DONE
        except Exception as error:
            db.session.rollback()
            lease.stop()
            if isinstance(error, Conflict):
                message = error.message
            else:
                current_app.logger.exception("campaign action %s failed", action_id)
                message = _("it stopped on an unexpected error; nothing was changed")
            fail_action(action_id, campaign.id, kind, message)
            db.session.commit()
            return ActionStatus.FAILED


def _clear(campaign_id: str, action: str) -> None:
    db.session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.pending_action == action)
        .values(pending_action=None)
        .execution_options(synchronize_session=False)
    )


def fail_action(action_id: str, campaign_id: str, action: str, error: str) -> None:
    """End an action as failed and free its campaign for the next one; the caller commits."""
    db.session.execute(
        sa.update(CampaignAction)
        .where(
            CampaignAction.id == action_id,
            CampaignAction.status.in_((ActionStatus.PENDING, ActionStatus.RUNNING)),
        )
        .values(status=ActionStatus.FAILED, error=error, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _clear(campaign_id, action)


def settle_stalled_actions(now: datetime | None = None) -> int:
    """Fail running actions whose lease ran out and pending ones no worker took for long;
    enqueue again those pending a while (their job may be lost). The caller commits.

    Returns how many were failed. A failed action changed nothing (its transaction died
    with its process); the campaign takes a new action at once.
    """
    now = now or utcnow()
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    stale = STALE_AFTER_SQLITE if sqlite else STALE_AFTER
    lease = sa.func.coalesce(CampaignAction.heartbeat_at, CampaignAction.started_at)
    rows = db.session.scalars(
        sa.select(CampaignAction)
        .where(
            sa.or_(
                sa.and_(CampaignAction.status == ActionStatus.RUNNING, lease < now - stale),
                sa.and_(
                    CampaignAction.status == ActionStatus.PENDING,
                    CampaignAction.created_at < now - REQUEUE_AFTER,
                ),
            )
        )
        .with_for_update(skip_locked=True)
    ).all()
    failed = 0
    for row in rows:
        if row.status == ActionStatus.PENDING and row.created_at >= now - GIVE_UP_AFTER:
            # Taking it twice is harmless: only one worker's claim succeeds.
            get_queue().enqueue(JOB, row.id, timeout=ACTION_TIMEOUT_SECONDS)
            continue
        error = (
            _("it never started (no worker took it); nothing was changed")
            if row.status == ActionStatus.PENDING
            else _("its worker stopped before it finished; nothing was changed")
        )
        fail_action(row.id, row.campaign_id, row.action, error)
        failed += 1
    db.session.expire_all()
    return failed


def estimate(campaign: Campaign, action: str, steps: int) -> int:
    """How many messages the action writes, moves or cancels, before doing it."""
    if action == PendingAction.START:
        leads = len(campaign.audience.lead_ids) if campaign.audience else 0
        return leads * (max(1, min(4, steps)) if campaign.followup_enabled else 1)
    return queued_count(campaign.id)
