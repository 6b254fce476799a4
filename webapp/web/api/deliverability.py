"""A sending domain's DKIM keys and DNS checks over the API."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.errors import ApiError
from webapp.extensions import db
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
)
from webapp.services.domains import get_domain
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


def _domain_or_404(name: str) -> SendingDomain:
    domain = get_domain(name)
    if domain is None:
        raise ApiError(404, _("no sending domain %(name)s", name=repr(name)))
    return domain


@bp.get("/domains/<name>/dkim")
def domains_dkim_show(name: str) -> Any:
    """The records to publish for the active and the pending key: public DNS data, so every
    role may read them (never a private key)."""
    return {"keys": [record.to_dict() for record in dkim_records(_domain_or_404(name))]}


@bp.post("/domains/<name>/dkim")
@admin_required
def domains_dkim_generate(name: str) -> Any:
    """A new key: active on a domain without one, else pending until its record is seen."""
    domain = _domain_or_404(name)
    record = generate_dkim_key(domain, current_user.id, utcnow())
    db.session.commit()
    return record.to_dict(), 201


@bp.post("/domains/<name>/dkim/import")
@admin_required
def domains_dkim_import(name: str) -> Any:
    """`{selector, private_key}` (PEM): 422 naming the field when either cannot be used."""
    domain = _domain_or_404(name)
    body = json_body()
    selector, pem = body.get("selector"), body.get("private_key")
    fields = {
        field: _("must be text")
        for field, value in (("selector", selector), ("private_key", pem))
        if not isinstance(value, str)
    }
    if fields:
        raise ApiError(422, _("invalid DKIM key"), fields)
    record = import_dkim_key(domain, str(selector), str(pem), current_user.id)
    db.session.commit()
    return record.to_dict(), 201


@bp.post("/domains/<name>/dkim/activate")
@admin_required
def domains_dkim_activate(name: str) -> Any:
    """Sign with the pending key; 409 until its record is in the DNS."""
    domain = _domain_or_404(name)
    record = activate_dkim_key(domain, current_user.id, utcnow())
    db.session.commit()
    return record.to_dict()


@bp.get("/domains/<name>/checks")
def domains_checks_show(name: str) -> Any:
    """The last DNS checks as kept (an empty list and `checked_at: null` before the first);
    reading never runs them: that is the POST, for admins."""
    return _checks(_domain_or_404(name))


@bp.post("/domains/<name>/checks")
@admin_required
def domains_checks_run(name: str) -> Any:
    """Run the DNS checks now."""
    domain = _domain_or_404(name)
    check_domain(domain, utcnow())
    db.session.commit()
    return _checks(domain)


def _checks(domain: SendingDomain) -> dict[str, Any]:
    checked_at = domain.dns_checked_at
    return {
        "domain": domain.name,
        "checked_at": checked_at.isoformat() if checked_at else None,
        "checks": present_checks(domain.dns_checks),
        "notice": checks_notice(domain.name, domain.dns_checks),
    }
