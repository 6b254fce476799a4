"""Connection tests on a domain's page: try its SMTP and IMAP settings, send nothing."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from webapp.htmx import wants_fragment
from webapp.security import admin_required
from webapp.services.domains import get_domain
from webapp.services.inbox import check_imap_connection
from webapp.services.sending import ConnectionReport, check_smtp_connection
from webapp.web.domains.blueprint import bp


@bp.post("/<name>/test-smtp")
@admin_required
def check_smtp(name: str) -> Any:
    domain = get_domain(name) or abort(404)
    return _answer(domain.name, "smtp", check_smtp_connection(domain))


@bp.post("/<name>/test-imap")
@admin_required
def check_imap(name: str) -> Any:
    domain = get_domain(name) or abort(404)
    return _answer(domain.name, "imap", check_imap_connection(domain))


def _answer(name: str, kind: str, report: ConnectionReport) -> Any:
    """The result in place (htmx), or, without JavaScript, as a message on the edit page."""
    if wants_fragment():
        return render_template("domains/_connection_result.html", kind=kind, report=report)
    failed = [step for step in report.steps if not step.ok]
    if failed:
        detail = failed[0].detail
        flash(_("%(kind)s test failed: %(detail)s", kind=kind.upper(), detail=detail), "error")
    else:
        flash(_("%(kind)s test passed.", kind=kind.upper()), "success")
    return redirect(url_for("domains.edit", name=name))
