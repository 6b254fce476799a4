"""Job entry points: unpack ids, make sure an app context exists, call a service.

RQ imports these by name (`webapp.jobs.send_message`); the in-process queue calls
them inside the app's context already.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, has_app_context
from flask_babel import force_locale

from webapp.appcontext import current_app_object
from webapp.database import utcnow
from webapp.services.campaigns import run_campaign_action as run_action
from webapp.services.leads import run_import_job
from webapp.services.planning import make_dry_run as make_campaign_dry_run
from webapp.services.sending import send_claimed_message
from webapp.services.team import send_password_reset as send_reset

P = ParamSpec("P")
R = TypeVar("R")

_app: Flask | None = None


def _worker_app() -> Flask:
    """The app of a worker process, made once per process."""
    global _app
    if _app is None:
        # A worker process builds its own app; at module level this would import the app
        # factory, and through it every blueprint, into every module that enqueues a job.
        from webapp import create_app

        _app = create_app()
    return _app


def job(function: Callable[P, R]) -> Callable[P, R]:
    """Run the job in its own app context, so it gets (and releases) its own session.

    A worker runs many jobs in one process: sharing a context would let one job's
    broken transaction (a dropped database connection, say) poison every later one.
    """

    @wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        app = current_app_object() if has_app_context() else _worker_app()
        with app.app_context():
            return function(*args, **kwargs)

    return wrapped


@job
def send_message(message_id: str, claim_token: str) -> str:
    """Send one claimed message."""
    return send_claimed_message(message_id, claim_token)


@job
def run_import(job_id: str) -> None:
    """Import a pending lead import's file."""
    run_import_job(job_id)


@job
def run_campaign_action(action_id: str) -> str:
    """Start, resume, stop or re-plan a campaign outside the request."""
    return run_action(action_id)


@job
def make_dry_run(campaign_id: str, key: str, locale: str) -> None:
    """Make and keep a campaign's dry-run report (in the language of the page that asked)."""
    with force_locale(locale):
        make_campaign_dry_run(campaign_id, key)


@job
def send_password_reset(email: str) -> None:
    """Mail a password reset link, if the address is an active user's (the asker never
    learns which, nor from how long the request took)."""
    send_reset(email, utcnow())
