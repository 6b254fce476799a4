"""Sending domains over the API."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import ApiError
from webapp.extensions import db
from webapp.security import admin_required
from webapp.services.domains import (
    domain_to_dict,
    get_domain,
    update_domain,
)
from webapp.services.planning import list_domains
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


@bp.get("/domains")
def domains_index() -> Any:
    return [domain_to_dict(domain) for domain in list_domains()]


@bp.get("/domains/<name>")
def domains_show(name: str) -> Any:
    domain = get_domain(name)
    if domain is None:
        raise ApiError(404, _("no sending domain %(name)s", name=repr(name)))
    return domain_to_dict(domain)


@bp.patch("/domains/<name>")
@admin_required
def domains_update(name: str) -> Any:
    domain = get_domain(name)
    if domain is None:
        raise ApiError(404, _("no sending domain %(name)s", name=repr(name)))
    update_domain(domain, json_body(), current_user.id)
    db.session.commit()
    return domain_to_dict(domain)
