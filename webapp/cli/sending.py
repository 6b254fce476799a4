"""Commands for sending: the worker, one dispatcher pass, and the embedded server."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from webapp import jobs
from webapp.appcontext import current_app_object
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.sending import complete_finished_campaigns, dispatch_once
from webapp.worker import Scheduler, periodic_passes, run_worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty (Redis only).")
def worker(burst: bool) -> None:
    """Run send jobs and the dispatcher (RQ on REDIS_URL, else in-process)."""
    run_worker(current_app_object(), burst=burst)


@click.command("dispatch")
@click.option("--once", is_flag=True, required=True, help="One pass, then exit.")
@with_appcontext
def dispatch(once: bool) -> None:
    """One dispatcher pass: settle expired claims, claim due mail, enqueue sends."""
    result = dispatch_once(utcnow())
    result.completed += complete_finished_campaigns(utcnow())
    db.session.commit()
    click.echo(
        json.dumps(
            {
                "claimed": len(result.claimed),
                "requeued": result.requeued,
                "uncertain": result.uncertain,
                "completed": len(result.completed),
            }
        )
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def serve(host: str, port: int) -> None:
    """The embedded default: the dashboard and a worker in one process (no Redis needed)."""
    app = current_app_object()
    if not app.config.get("REDIS_URL"):
        jobs._app = app
        Scheduler(app, periodic_passes(app)).start()
        click.echo(
            "worker: sending in-process; mail goes to the outbox"
            if app.config.get("MAIL_BACKEND") != "smtp"
            else "worker: sending in-process through SMTP"
        )
    # app.run() refuses to block inside a flask command; serve with Werkzeug directly.

    run_simple(host, port, app, threaded=True, use_reloader=False)
