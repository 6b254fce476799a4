"""Editing one lead by hand: its address, company, url and variables, checked and recorded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Lead, LeadStatus
from webapp.services.audit import AuditAction, record_action
from webapp.services.leads.columns import clean_text, normalise_email, var_key
from webapp.services.leads.fields import (
    NOT_A_WEB_ADDRESS,
    WEB_SCHEMES,
    company_domain,
    url_problem,
)
from webapp.services.leads.idn import unicode_email
from webapp.services.leads.manage import LeadActionError
from webapp.services.leads.mapping import COMPANY, EMAIL, URL
from webapp.services.leads.suppressions import is_suppressed

# Variables the lead page always offers, set or not; any others the lead has come after.
STANDARD_VARS = ("first_name", "last_name", "city")
# The parts of a person's name in reading order, each as exports name it (English, Dutch).
NAME_PARTS = (("first_name", "voornaam"), ("infix", "tussenvoegsel"), ("last_name", "achternaam"))


@dataclass
class LeadChanges:
    """What the lead page (or a caller) sends: fields, and variables by name.

    A blank value clears it; a variable left out stays as it is.
    """

    email: str
    company: str = ""
    url: str = ""
    vars: dict[str, str] = field(default_factory=dict)


def person_name(lead: Lead) -> str:
    """The person's name from the lead's variables ('Anne de Vries'); empty when it has none."""
    values = {k: clean_text(str(v)) for k, v in (lead.vars or {}).items() if v is not None}
    parts = [next((values[n] for n in names if values.get(n)), "") for names in NAME_PARTS]
    return " ".join(part for part in parts if part)


def lead_heading(lead: Lead) -> str:
    """How a lead is named on its page: 'Anne de Vries — Bakkerij Jansen', else the address."""
    who = person_name(lead) or unicode_email(lead.email)
    return f"{who} — {lead.company}" if lead.company else who


def editable_vars(lead: Lead) -> list[tuple[str, str]]:
    """The variables the lead page offers: the standard ones, then the lead's others."""
    values = {k: str(v) for k, v in (lead.vars or {}).items() if k not in (COMPANY, URL)}
    names = [*STANDARD_VARS, *sorted(k for k in values if k not in STANDARD_VARS)]
    return [(name, values.get(name, "")) for name in names]


def update_lead(lead: Lead, changes: LeadChanges, user_id: str | None = None) -> list[str]:
    """Apply the changes; returns the names of the fields that changed (recorded when any).

    LeadActionError names each bad field (`email`, `url`, `var:<name>`) and changes nothing.
    """
    errors: dict[str, str] = {}
    email, problem = normalise_email(changes.email)
    if email is None:
        errors[EMAIL] = problem or _("not an e-mail address")
    elif email != lead.email and _address_taken(email, lead.id):
        errors[EMAIL] = _("another lead has this address")
    url, problem = _web_address(changes.url)
    if problem:
        errors[URL] = problem
    new_vars, var_errors = _variables(lead.vars or {}, changes.vars)
    errors.update(var_errors)
    if errors:
        raise LeadActionError(_("Some fields need a look; nothing was saved."), errors)
    assert email is not None
    company = clean_text(changes.company) or None
    for name, value in ((COMPANY, company), (URL, url)):
        # The importer keeps company and url in vars too: templates read either.
        if value:
            new_vars[name] = value
        else:
            new_vars.pop(name, None)
    old_vars: dict[str, Any] = dict(lead.vars or {})
    before = {EMAIL: lead.email, COMPANY: lead.company, URL: lead.url}
    after = {EMAIL: email, COMPANY: company, URL: url}
    changed = [name for name in (EMAIL, COMPANY, URL) if before[name] != after[name]]
    changed += sorted(
        f"var:{name}"
        for name in set(old_vars) | set(new_vars)
        if name not in (COMPANY, URL) and old_vars.get(name) != new_vars.get(name)
    )
    if not changed:
        return []
    previous_email = lead.email
    lead.email, lead.company, lead.url, lead.vars = email, company, url, new_vars
    lead.domain = company_domain(url, email)
    if lead.status == LeadStatus.ACTIVE and is_suppressed(email, lead.domain):
        lead.status = LeadStatus.SUPPRESSED  # a corrected address may be one that said no
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # another request took the address a moment ago
        raise LeadActionError(
            _("Some fields need a look; nothing was saved."),
            {EMAIL: _("another lead has this address")},
        ) from None
    details: dict[str, Any] = {"fields": changed}
    if email != previous_email:
        details["previous_email"] = previous_email
    record_action(AuditAction.LEAD_EDITED, "lead", lead.id, user_id, details)
    return changed


def _address_taken(email: str, lead_id: str) -> bool:
    found = db.session.execute(
        sa.select(Lead.id).where(Lead.email == email, Lead.id != lead_id).limit(1)
    )
    return found.first() is not None


def _web_address(raw: str) -> tuple[str | None, str | None]:
    """(url, None) for an empty or usable http(s) address, (None, reason) otherwise."""
    url = clean_text(raw)
    if not url:
        return None, None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in WEB_SCHEMES or url_problem(url) is not None:
        return None, str(NOT_A_WEB_ADDRESS)
    if company_domain(url, "") is None:
        return None, _("not a web address: the part after // is not a domain")
    return url, None


def _variables(
    current: Mapping[str, Any], given: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The lead's variables with the given ones set (blank: removed), and the errors."""
    values = dict(current)
    errors: dict[str, str] = {}
    for raw_name, raw_value in given.items():
        name = var_key(raw_name)
        if not name:
            errors[f"var:{raw_name}"] = _("a variable needs a name of letters or digits")
        elif name in (EMAIL, COMPANY, URL):
            errors[f"var:{raw_name}"] = _("%(name)s is a field of the lead, above", name=name)
        elif clean_text(raw_value):
            values[name] = clean_text(raw_value)
        else:
            values.pop(name, None)
    return values, errors
