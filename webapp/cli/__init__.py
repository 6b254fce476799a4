"""Flask commands (`flask --app wsgi ...`), one module per area."""

from __future__ import annotations

from flask import Flask

from webapp.cli.demo import demo
from webapp.cli.domains import domains_cli
from webapp.cli.inbox import inbox_cli
from webapp.cli.leads import leads_cli
from webapp.cli.sending import dispatch, serve, worker
from webapp.cli.tracking import tracking_cli
from webapp.cli.users import users_cli


def init_app(app: Flask) -> None:
    for command in (users_cli, domains_cli, demo, leads_cli, tracking_cli, inbox_cli):
        app.cli.add_command(command)
    for command in (worker, dispatch, serve):
        app.cli.add_command(command)
