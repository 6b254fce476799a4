"""A domain's DKIM keys and DNS checks on its edit page (admins only), as htmx fragments;
the read-only findings the domains list shows every role."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.htmx import wants_fragment
from webapp.models import SendingDomain
from webapp.security import admin_required
from webapp.services.deliverability import (
    activate_dkim_key,
    check_domain,
    checks_notice,
    dkim_records,
    generate_dkim_key,
    import_dkim_key,
    present_checks,
    retired_key,
    worst_status,
)
from webapp.services.domains import get_domain
from webapp.services.errors import Conflict, InvalidInput
from webapp.web.domains.blueprint import bp

# An imported key file is a few kilobytes; anything larger is not a PEM key.
MAX_KEY_BYTES = 64 * 1024


def dkim_context(domain: SendingDomain, **extra: Any) -> dict[str, Any]:
    """What templates/domains/_dkim.html shows (never a private key)."""
    return {
        "domain": domain,
        "dkim": {r.state: r for r in dkim_records(domain)},
        "retired": retired_key(domain),
        "dkim_errors": {},
        **extra,
    }


def checks_context(domain: SendingDomain, **extra: Any) -> dict[str, Any]:
    """What templates/domains/_dns_checks.html shows."""
    return {
        "domain": domain,
        "checks": present_checks(domain.dns_checks),
        "checks_status": worst_status(domain.dns_checks),
        "notice": checks_notice(domain.name, domain.dns_checks),
        **extra,
    }


def dns_findings(domain: SendingDomain) -> dict[str, Any]:
    """What the domains list shows every role under a DNS badge: the checks that fail or
    warn, with their detail and fix (public DNS data, never a secret)."""
    return {
        "notice": checks_notice(domain.name, domain.dns_checks),
        "checks": [c for c in present_checks(domain.dns_checks) if c["status"] != "pass"],
    }


def _domain(name: str) -> SendingDomain:
    return get_domain(name) or abort(404)


def _dkim_answer(domain: SendingDomain, status: int = 200, **extra: Any) -> Any:
    if not wants_fragment():
        return redirect(url_for("domains.edit", name=domain.name, _anchor="domain-dkim"), 303)
    return render_template("domains/_dkim.html", dkim_section=dkim_context(domain, **extra)), status


@bp.post("/<name>/dkim/generate")
@admin_required
def dkim_generate(name: str) -> Any:
    domain = _domain(name)
    record = generate_dkim_key(domain, current_user.id, utcnow())
    db.session.commit()
    if record.state == "active":
        message = _(
            "A new key signs the mail of %(domain)s from now on. Until its TXT record below is "
            "published, receivers find no key and that mail fails DKIM: publish it now.",
            domain=domain.name,
        )
    elif record.replaced_pending:
        message = _(
            "A new key waits under %(selector)s and replaces the unpublished key under "
            "%(replaced)s: publish the new record, then activate it.",
            selector=record.selector,
            replaced=record.replaced_pending,
        )
    else:
        message = _(
            "A new key waits under %(selector)s: publish its record, then activate it.",
            selector=record.selector,
        )
    return _dkim_answer(domain, dkim_message=message)


@bp.post("/<name>/dkim/import")
@admin_required
def dkim_import(name: str) -> Any:
    domain = _domain(name)
    upload = request.files.get("key_file")
    pem = request.form.get("private_key", "")
    if upload is not None and upload.filename:
        pem = upload.stream.read(MAX_KEY_BYTES).decode("utf-8", "replace")
    try:
        record = import_dkim_key(domain, request.form.get("selector", ""), pem, current_user.id)
    except InvalidInput as error:
        db.session.rollback()
        domain = _domain(name)
        return _dkim_answer(
            domain, 422, dkim_errors=error.fields, selector=request.form.get("selector", "")
        )
    db.session.commit()
    return _dkim_answer(
        domain,
        dkim_message=_("Imported the key under %(selector)s.", selector=record.selector),
        dkim_warnings=record.warnings,
    )


@bp.post("/<name>/dkim/activate")
@admin_required
def dkim_activate(name: str) -> Any:
    domain = _domain(name)
    try:
        record = activate_dkim_key(domain, current_user.id, utcnow())
    except Conflict as error:
        db.session.rollback()
        return _dkim_answer(_domain(name), 409, dkim_error=error.message)
    db.session.commit()
    return _dkim_answer(
        domain,
        dkim_message=_(
            "Mail of %(domain)s is now signed with the key under %(selector)s.",
            domain=domain.name,
            selector=record.selector,
        ),
    )


@bp.post("/<name>/checks")
@admin_required
def dns_check_now(name: str) -> Any:
    domain = _domain(name)
    check_domain(domain, utcnow())
    db.session.commit()
    if not wants_fragment():
        return redirect(url_for("domains.edit", name=domain.name, _anchor="domain-dns-checks"), 303)
    return render_template("domains/_dns_checks.html", checks_section=checks_context(domain))
