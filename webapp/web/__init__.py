"""Blueprints, one package per area; routes only."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.extensions import csrf
from webapp.security import AUDIT_READERS
from webapp.web.account import bp as account_bp
from webapp.web.api import bp as api_bp
from webapp.web.audit import bp as audit_bp
from webapp.web.auth import bp as auth_bp
from webapp.web.campaigns import bp as campaigns_bp
from webapp.web.dashboard import bp as dashboard_bp
from webapp.web.domains import bp as domains_bp
from webapp.web.inbox import bp as inbox_bp
from webapp.web.kpis import bp as kpis_bp
from webapp.web.labels import init_labels
from webapp.web.leads import bp as leads_bp
from webapp.web.outbox import bp as outbox_bp
from webapp.web.planning import bp as planning_bp
from webapp.web.public import bp as public_bp
from webapp.web.suppressions import bp as suppressions_bp
from webapp.web.team import bp as team_bp
from webapp.web.templates import bp as templates_bp
from webapp.web.tracking import bp as tracking_bp


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(domains_bp, url_prefix="/domains")
    app.register_blueprint(campaigns_bp, url_prefix="/campaigns")
    app.register_blueprint(leads_bp, url_prefix="/leads")
    app.register_blueprint(suppressions_bp, url_prefix="/suppressions")
    app.register_blueprint(planning_bp, url_prefix="/planning")
    app.register_blueprint(templates_bp, url_prefix="/templates")
    app.register_blueprint(outbox_bp, url_prefix="/outbox")
    app.register_blueprint(kpis_bp, url_prefix="/kpis")
    app.register_blueprint(inbox_bp, url_prefix="/inbox")
    app.register_blueprint(team_bp)  # /users (admins) and the public /invite/<token>
    app.register_blueprint(audit_bp, url_prefix="/audit")
    app.register_blueprint(tracking_bp)  # public: pixel, tracked links, unsubscribe
    # The API authenticates with bearer tokens only, never cookies, so CSRF cannot reach it.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    init_navigation(app)
    init_labels(app)


# (endpoint, label) of the main navigation, in order.
NAV_ITEMS = [
    ("dashboard.index", _l("Overview")),
    ("leads.index", _l("Leads")),
    ("templates.index", _l("Templates")),
    ("campaigns.index", _l("Campaigns")),
    ("inbox.index", _l("Inbox")),
    ("domains.index", _l("Domains")),
    ("suppressions.index", _l("Suppressions")),
    ("planning.availability", _l("Availability")),
    ("outbox.index", _l("Outbox")),
    ("audit.index", _l("Audit trail")),
]
# Entries only some roles see (the page itself refuses the others too).
NAV_ROLES = {"audit.index": AUDIT_READERS}
# The roles as people read them.
ROLE_NAMES = {"admin": _l("admin"), "marketer": _l("marketer"), "manager": _l("manager")}


def init_navigation(app: Flask) -> None:
    @app.context_processor
    def _nav() -> dict[str, object]:
        # No user at all outside a request (system mail rendered by a job or a command).
        role = current_user.role if getattr(current_user, "is_authenticated", False) else None
        items = [
            (endpoint, label)
            for endpoint, label in NAV_ITEMS
            if endpoint not in NAV_ROLES or role in NAV_ROLES[endpoint]
        ]
        return {"nav_items": items, "role_names": ROLE_NAMES}
