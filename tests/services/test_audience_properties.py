"""On random leads the funnel equals the reference SQL (which reads every variable out of
vars), and leads.filled_vars, kept by the database, equals the plain reading of vars after
any inserts and updates, on PostgreSQL and on the embedded SQLite."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_lead
from tests.services.test_audience import NOW, T0, reference_funnel
from webapp.extensions import db
from webapp.models import Lead, Suppression, Template, TemplateStep
from webapp.services.campaigns.audience import (
    BLANK_CHARACTERS,
    AudienceFilters,
    preview_audience,
    selected_lead_ids,
)

NAMES = ("company", "url", "first_name", "branche")
VALUES = st.one_of(
    st.sampled_from(["", " ", "\t\r\n", "\u00a0", " \u00a0x ", "Jan", "0"]),
    st.none(),
    st.integers(0, 2),
    st.booleans(),
    st.just({"a": 1}),
    st.just([]),
)
# Thirty long names: a list of filled variables too long to store (NULL, read from vars).
LONG = {f"extra_column_with_a_rather_long_name_{n:02}": "ja" for n in range(30)}
VARS = st.builds(
    lambda values, long: {**values, **(LONG if long else {})},
    st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4),
    st.booleans(),
)
DOMAINS = ("alpha.nl", "Alpha.NL", "beta.nl", "gmail.com", "Gmail.com", None)
LEADS = st.lists(
    st.fixed_dictionaries(
        {
            "list_name": st.sampled_from(("a", "b", "c")),
            "domain": st.sampled_from(DOMAINS),
            "shout": st.booleans(),  # the address in capitals with a space around it
            "status": st.sampled_from(("active", "active", "suppressed", "bounced")),
            "deleted": st.booleans(),
            "stopped": st.booleans(),
            "emailed_days_ago": st.sampled_from((None, None, 1, 13, 14, 15, 40)),
            "hours": st.integers(0, 3),  # few distinct times: ties broken by id
            "vars": VARS,
            "new_vars": st.none() | VARS,  # written again after the insert
        }
    ),
    min_size=1,
    max_size=14,
)
FILTERS = st.fixed_dictionaries(
    {
        "list_names": st.sampled_from((("a",), ("a", "b"), ("b", "c"))),
        "only_complete": st.booleans(),
        "exclude_suppressed": st.booleans(),
        "exclude_recent_days": st.sampled_from((None, 1, 14, 30)),
        "one_per_domain": st.booleans(),
    }
)
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def filled(values: dict[str, Any], separator: str) -> list[str] | None:
    """The names with a value, as the database lists them; None past 1,000 characters."""
    names = sorted(
        name
        for name, value in values.items()
        if value is not None and (not isinstance(value, str) or value.strip(BLANK_CHARACTERS))
    )
    return names if len(json.dumps(names, separators=(separator, ":"))) <= 1000 else None


def make_leads(leads: list[dict[str, Any]]) -> list[Lead]:
    """The leads, each written once more with `new_vars` where drawn (a bulk UPDATE)."""
    made = []
    for n, drawn in enumerate(leads):
        email = f"p{n}@{drawn['domain'] or 'geen-domein.nl'}"
        made.append(
            make_lead(
                email=f" {email.upper()} " if drawn["shout"] else email,
                domain=drawn["domain"],
                list_name=drawn["list_name"],
                status=drawn["status"],
                deleted_at=NOW - timedelta(days=1) if drawn["deleted"] else None,
                stopped=drawn["stopped"],
                last_emailed_at=(
                    NOW - timedelta(days=drawn["emailed_days_ago"])
                    if drawn["emailed_days_ago"] is not None
                    else None
                ),
                created_at=T0 + timedelta(hours=drawn["hours"]),
                vars=drawn["vars"],
            )
        )
    db.session.commit()
    for lead, drawn in zip(made, leads, strict=True):
        if drawn["new_vars"] is not None:
            db.session.execute(
                sa.update(Lead).where(Lead.id == lead.id).values(vars=drawn["new_vars"])
            )
    db.session.commit()
    return made


def stored_filled_vars() -> dict[str, Any]:
    rows = db.session.execute(sa.select(Lead.id, Lead.filled_vars)).all()
    return {row.id: row.filled_vars for row in rows}


def expected_filled_vars(made: list[Lead], leads: list[dict[str, Any]], separator: str) -> Any:
    return {
        lead.id: filled(drawn["new_vars"] if drawn["new_vars"] is not None else drawn["vars"],
                        separator)
        for lead, drawn in zip(made, leads, strict=True)
    }  # fmt: skip


def empty_tables() -> None:
    db.session.rollback()
    for model in (Lead, Suppression, TemplateStep, Template):
        db.session.execute(sa.delete(model))
    db.session.commit()


@PROPERTY
@given(
    leads=LEADS,
    drawn_filters=FILTERS,
    template_names=st.lists(st.sampled_from(("first_name", "branche")), unique=True),
    suppressed=st.lists(st.integers(0, 13), max_size=3),
    suppressed_domain=st.sampled_from((None, "ALPHA.nl", "gmail.com")),
)
def test_the_funnel_on_random_leads_equals_the_reference_sql(
    app: Flask,
    database_url: str,
    leads: list[dict[str, Any]],
    drawn_filters: dict[str, Any],
    template_names: list[str],
    suppressed: list[int],
    suppressed_domain: str | None,
) -> None:
    empty_tables()
    made = make_leads(leads)
    for n in sorted({n for n in suppressed if n < len(made)}):
        db.session.add(Suppression(email=made[n].email.strip().lower(), reason="manual"))
    if suppressed_domain is not None:
        db.session.add(Suppression(domain=suppressed_domain, reason="manual"))
    template = Template(name="Eigenschap")
    body = " ".join(f"{{{{ {name} }}}}" for name in template_names) or "Hallo"
    template.steps = [TemplateStep(mail_number=1, subject="Hallo", body_html="", body_text=body)]
    db.session.add(template)
    db.session.commit()
    assert stored_filled_vars() == expected_filled_vars(made, leads, ", ")

    chosen = AudienceFilters(template_id=template.id, **drawn_filters)
    with psycopg.connect(database_url) as pg:
        expected = reference_funnel(pg, chosen, NOW, sorted(template_names))
    preview = preview_audience(chosen, NOW, sample_size=20)
    assert (preview.total, preview.removed, preview.selected) == (
        expected["total"],
        expected["removed"],
        expected["selected"],
    )
    assert selected_lead_ids(chosen, NOW) == expected["ids"]
    assert [lead["id"] for lead in preview.sample] == expected["ids"][:20]


@PROPERTY
@given(leads=LEADS)
def test_the_filled_variables_follow_every_write_on_sqlite(
    sqlite_app: Flask, leads: list[dict[str, Any]]
) -> None:
    empty_tables()
    made = make_leads(leads)
    assert stored_filled_vars() == expected_filled_vars(made, leads, ",")
