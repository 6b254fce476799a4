"""Commands for sending: the worker, one dispatcher pass, and the embedded server."""

from __future__ import annotations

import errno
import json
import socket

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
                "next_at": result.next_at.isoformat() if result.next_at else None,
            }
        )
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int, help="The port (make run PORT=5050).")
def serve(host: str, port: int) -> None:
    """The embedded default: the dashboard and a worker in one process (no Redis needed)."""
    # Checked before the worker starts, so a taken port stops everything with one line.
    problem = bind_problem(host, port)
    if problem:
        other = port + 1 if port < 65535 else 5000
        raise click.ClickException(
            f"{problem}. Choose another port: make run PORT={other} "
            f"(or flask serve --port {other})."
        )
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


def bind_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, or None when it can."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        return f"Cannot serve on {host}: {error.strerror}"
    with socket.socket(family, kind, proto) as probe:
        # As the server does: a port held only by connections closing down is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"Port {port} on {host} is already in use by another program"
            return f"Cannot serve on {host}:{port}: {error.strerror}"
    return None
