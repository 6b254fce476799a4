"""The sending domains page: everyone sees them, admins edit them."""

from __future__ import annotations

from typing import Any

from babel.dates import get_day_names
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from webapp.database import utcnow
from webapp.extensions import db
from webapp.formats import decimal
from webapp.i18n import current_locale
from webapp.security import admin_required
from webapp.services.deliverability import worst_status
from webapp.services.domains import (
    SECRET_FIELDS,
    DomainSettingsError,
    get_domain,
    sending_load,
    update_domain,
)
from webapp.services.planning import list_domains, slot_lines
from webapp.web.domains.blueprint import bp
from webapp.web.domains.deliverability import checks_context, dkim_context, dns_findings

# The SMTP security modes the form offers, as people read them.
TLS_MODES = {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": _l("no encryption")}


def weekdays() -> list[tuple[int, str]]:
    """ISO weekday numbers (1 is Monday) with their short names in the page's language."""
    names = get_day_names("abbreviated", locale=current_locale())
    return [(number, names[number - 1]) for number in range(1, 8)]


@bp.get("/")
def index() -> Any:
    domains = list_domains()
    return render_template(
        "domains/index.html",
        domains=domains,
        weekdays=weekdays(),
        tls_modes=TLS_MODES,
        slots=slot_lines(domains, utcnow()),
        dns_status={d.name: worst_status(d.dns_checks) for d in domains},
        dns_findings={d.name: dns_findings(d) for d in domains},
        load=sending_load(domains),
    )


@bp.get("/<name>/edit")
@admin_required
def edit(name: str) -> Any:
    domain = get_domain(name) or abort(404)
    return render_template(
        "domains/edit.html",
        domain=domain,
        weekdays=weekdays(),
        tls_modes=TLS_MODES,
        errors={},
        load=sending_load(list_domains()),
        dkim_section=dkim_context(domain),
        checks_section=checks_context(domain),
    )


@bp.post("/<name>/edit")
@admin_required
def update(name: str) -> Any:
    domain = get_domain(name) or abort(404)
    try:
        update_domain(domain, form_changes(request.form), current_user.id)
    except DomainSettingsError as error:
        db.session.rollback()
        domain = get_domain(name) or abort(404)
        return (
            render_template(
                "domains/edit.html",
                domain=domain,
                weekdays=weekdays(),
                tls_modes=TLS_MODES,
                errors=error.fields,
                form=request.form,
                load=sending_load(list_domains()),
                dkim_section=dkim_context(domain),
                checks_section=checks_context(domain),
            ),
            422,
        )
    db.session.commit()
    flash(_("Saved the settings of %(domain)s.", domain=domain.name), "success")
    load = sending_load(list_domains())
    if load.workers_needed > 1:
        flash(
            _(
                "At full pace the active domains now send %(mails)s mails a minute: run at "
                "least %(workers)s workers, or mail falls behind its slots.",
                mails=decimal(load.mails_per_minute, 0),
                workers=load.workers_needed,
            ),
            "warning",
        )
    return redirect(url_for("domains.index"))


def form_changes(form: MultiDict[str, str]) -> dict[str, Any]:
    """The edit form as the same changes the API takes."""
    changes: dict[str, Any] = {
        field: form.get(field, "")
        for field in (
            "label",
            "smtp_host",
            "smtp_port",
            "smtp_user",
            "smtp_tls",
            "imap_host",
            "imap_port",
            "imap_user",
            "imap_folder",
            "interval_seconds",
            "window_start",
            "window_end",
            "timezone",
            "daily_cap",
            "ramp_start",
            "ramp_step",
            "tracking_host",
        )
    }
    changes["working_days"] = form.getlist("working_days")
    for flag in ("skip_holidays", "paused", "imap_tls"):
        changes[flag] = flag in form
    changes["aliases"] = _parse_aliases(form.get("aliases", ""))
    # A password field left empty keeps the stored secret; a tick clears it.
    for secret in SECRET_FIELDS:
        if form.get(f"clear_{secret}"):
            changes[secret] = None
        elif form.get(secret):
            changes[secret] = form[secret]
    return changes


def _parse_aliases(text: str) -> list[dict[str, str]]:
    """One alias a line: `christian = Christian de Vries`."""
    aliases = []
    for line in text.splitlines():
        if line.strip():
            alias, _equals, display_name = line.partition("=")
            aliases.append({"alias": alias.strip(), "display_name": display_name.strip()})
    return aliases
