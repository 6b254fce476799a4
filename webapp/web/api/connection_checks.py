"""Connection tests of a sending domain over the API: `{ok, steps:[{step, ok, detail}]}`."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from webapp.errors import ApiError
from webapp.models import SendingDomain
from webapp.security import admin_required
from webapp.services.domains import get_domain
from webapp.services.inbox import check_imap_connection
from webapp.services.sending import check_smtp_connection
from webapp.web.api.blueprint import bp


@bp.post("/domains/<name>/test-smtp")
@admin_required
def domains_test_smtp(name: str) -> Any:
    return check_smtp_connection(_domain_or_404(name)).to_dict()


@bp.post("/domains/<name>/test-imap")
@admin_required
def domains_test_imap(name: str) -> Any:
    return check_imap_connection(_domain_or_404(name)).to_dict()


def _domain_or_404(name: str) -> SendingDomain:
    domain = get_domain(name)
    if domain is None:
        raise ApiError(404, _("no sending domain %(name)s", name=repr(name)))
    return domain
