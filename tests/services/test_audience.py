"""The audience funnel equals the original review's audience queries, run as raw SQL on PostgreSQL.

`reference_funnel` chains the review's query patterns (docs/rules.md, "Original review":
is_complete, list name, suppression, recent contact, one per domain) stage by stage, in the
order of docs/rules.md, "Audience". Where the review's SQL and docs/rules.md disagree, the
reference encodes docs/rules.md and says so.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead
from webapp.extensions import db
from webapp.models import Suppression
from webapp.services.campaigns.audience import (
    BLANK_CHARACTERS,
    FUNNEL_SETTINGS,
    FUNNEL_WORK_MEM,
    AudienceError,
    AudienceFilters,
    missing_variables,
    parse_filters,
    preview_audience,
    selected_lead_ids,
)
from webapp.services.leads.fields import FREE_MAIL_DOMAINS
from webapp.services.mail import render_step

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=60)

REFERENCE_SQL = """
WITH base AS (
    -- seed pattern 2 (list name), for one or more lists
    SELECT * FROM leads
    WHERE list_name = ANY(%(lists)s) AND deleted_at IS NULL AND stopped = FALSE
),
complete AS (
    -- review pattern 1. docs/rules.md is stricter than the review: company AND url must be
    -- non-empty after trimming whitespace (the review lets "   " and an empty url pass),
    -- and so must every variable the template uses.
    SELECT * FROM base
    WHERE {complete}
),
clean AS (
    -- review pattern 3, plus the suppression list (docs/rules.md): neither the address (in any
    -- letter case) nor the company domain may be suppressed. The seed checks status only.
    SELECT * FROM complete c
    WHERE {clean}
),
fresh AS (
    -- review pattern 4, with the number of days as a parameter (the review fixes 14).
    SELECT * FROM clean
    WHERE {fresh}
),
one_per_domain AS (
    -- review pattern 5, but docs/rules.md never collapses free-mail domains (people, not
    -- companies) nor leads without a domain; ties on created_at are broken by id.
    {one_per_domain}
)
SELECT
    (SELECT count(*) FROM base) AS total,
    (SELECT count(*) FROM complete) AS after_complete,
    (SELECT count(*) FROM clean) AS after_clean,
    (SELECT count(*) FROM fresh) AS after_fresh,
    (SELECT count(*) FROM one_per_domain) AS selected{ids}
"""
IDS_SQL = ",\n    (SELECT array_agg(id ORDER BY created_at, id) FROM one_per_domain) AS ids"

COMPLETE_SQL = "vars ? {name} AND nullif(btrim(vars->>{name}, %(blank)s), '') IS NOT NULL"
CLEAN_SQL = """status NOT IN ('suppressed', 'bounced')
      AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE lower(s.email) = lower(btrim(c.email)))
      AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE lower(s.domain) = lower(c.domain))"""
FRESH_SQL = "last_emailed_at IS NULL OR last_emailed_at < %(now)s - make_interval(days => %(days)s)"
ONE_PER_DOMAIN_SQL = """
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY lower(domain) ORDER BY created_at ASC, id ASC)
            AS rn
        FROM fresh
        WHERE domain IS NOT NULL AND lower(domain) <> ALL(%(free_mail)s)
    ) ranked WHERE rn = 1
    UNION ALL
    SELECT *, 1 FROM fresh WHERE domain IS NULL OR lower(domain) = ANY(%(free_mail)s)"""


def reference_sql(filters: AudienceFilters, variables: list[str], ids: bool = True) -> str:
    """The reference statement for these filter switches (with the selected ids, or counts only)."""
    complete = " AND ".join(
        COMPLETE_SQL.format(name=f"'{name}'") for name in ("company", "url", *variables)
    )
    return REFERENCE_SQL.format(
        complete=complete if filters.only_complete else "TRUE",
        clean=CLEAN_SQL if filters.exclude_suppressed else "TRUE",
        fresh=FRESH_SQL if filters.exclude_recent_days else "TRUE",
        one_per_domain=ONE_PER_DOMAIN_SQL if filters.one_per_domain else "SELECT * FROM fresh",
        ids=IDS_SQL if ids else "",
    )


def reference_funnel(
    connection: psycopg.Connection[Any],
    filters: AudienceFilters,
    now: datetime,
    variables: list[str] = (),  # type: ignore[assignment]
    ids: bool = True,
) -> dict[str, Any]:
    """The funnel computed by the reference SQL, straight through psycopg."""
    row = connection.execute(
        reference_sql(filters, list(variables), ids),
        {
            "lists": list(filters.list_names),
            "blank": BLANK_CHARACTERS,
            "now": now,
            "days": filters.exclude_recent_days or 0,
            "free_mail": sorted(FREE_MAIL_DOMAINS),
        },
    ).fetchone()
    assert row is not None
    total, after_complete, after_clean, after_fresh, selected, *rest = row
    return {
        "total": total,
        "removed": {
            "incomplete": total - after_complete,
            "suppressed": after_complete - after_clean,
            "recent": after_clean - after_fresh,
            "duplicate_domain": after_fresh - selected,
        },
        "selected": selected,
        "ids": list(rest[0] or []) if rest else [],
    }


def lead(name: str, *, hours: float = 0, **overrides: Any) -> Any:
    """A complete, active lead of list `mkb`, created `hours` after T0."""
    domain = overrides.pop("domain", f"{name}.nl")
    values: dict[str, Any] = {
        "email": f"info@{name}.nl",
        "domain": domain,
        "list_name": "mkb",
        "created_at": T0 + timedelta(hours=hours),
        "vars": {"company": name.title(), "url": f"https://{name}.nl", "first_name": "Jan"},
    }
    values.update(overrides)
    return make_lead(**values)


def seed_every_edge() -> dict[str, Any]:
    """One list with every edge the filters must get right, plus leads outside it."""
    complete_vars = {"company": "X", "url": "https://x.nl", "first_name": "Jan"}
    made = {
        # Several leads per company domain; the earliest-created one stays.
        "alpha_first": lead("alpha1", hours=1, domain="alpha.nl", email="info@alpha.nl"),
        "alpha_second": lead("alpha2", hours=2, domain="alpha.nl", email="jan@alpha.nl"),
        "alpha_third": lead("alpha3", hours=3, domain="alpha.nl", email="piet@alpha.nl"),
        # The earliest lead of beta is suppressed, so the next one stays.
        "beta_suppressed": lead("beta1", hours=0, domain="beta.nl", status="suppressed"),
        "beta_kept": lead("beta2", hours=5, domain="beta.nl", email="jan@beta.nl"),
        # The earliest lead of delta is incomplete; with only_complete off it would stay.
        "delta_incomplete": lead("delta1", hours=1, domain="delta.nl", vars={"company": "D"}),
        "delta_kept": lead("delta2", hours=6, domain="delta.nl", email="jan@delta.nl"),
        "delta_dup": lead("delta3", hours=7, domain="delta.nl", email="piet@delta.nl"),
        # Same created_at: the smaller id wins.
        "tie_a": lead("tie-a", hours=9, domain="tie.nl", email="a@tie.nl"),
        "tie_b": lead("tie-b", hours=9, domain="tie.nl", email="b@tie.nl"),
        # Incomplete in every way the review's query misses or catches.
        "empty_company": lead("empty", vars={**complete_vars, "company": ""}),
        "blank_company": lead("blank", vars={**complete_vars, "company": "   "}),
        "tab_company": lead("tab", vars={**complete_vars, "company": "\t\n"}),
        "no_company": lead("nocomp", vars={"url": "https://x.nl", "first_name": "Jan"}),
        "null_company": lead("nullcomp", vars={**complete_vars, "company": None}),
        "no_url": lead("nourl", vars={"company": "No Url", "first_name": "Jan"}),
        "empty_url": lead("emptyurl", vars={**complete_vars, "url": " "}),
        "no_first_name": lead("nofirst", vars={"company": "NF", "url": "https://nf.nl"}),
        # Not in the base set at all.
        "deleted": lead("deleted", deleted_at=NOW - timedelta(days=1)),
        "stopped": lead("stopped", stopped=True),
        "other_list": lead("otherlist", list_name="other"),
        # Suppressed by address (in another letter case), by domain, bounced.
        "suppressed_address": lead("supaddr", email="Jan.Jansen@SupAddr.nl"),
        "suppressed_lowercase": lead("suplow", email="kees@suplow.nl"),
        "suppressed_domain": lead("supdom"),
        "bounced": lead("bounced", status="bounced"),
        # Emailed 13, exactly 14, just over 14 and 15 days ago.
        "emailed_13": lead("emailed13", last_emailed_at=NOW - timedelta(days=13)),
        "emailed_14": lead("emailed14", last_emailed_at=NOW - timedelta(days=14)),
        "emailed_14_plus": lead("emailed14p", last_emailed_at=NOW - timedelta(days=14, minutes=1)),
        "emailed_15": lead("emailed15", last_emailed_at=NOW - timedelta(days=15)),
        # Free mail: people, never collapsed, whatever the letter case.
        "gmail_1": lead("gm1", email="jan@gmail.com", domain="gmail.com", hours=1),
        "gmail_2": lead("gm2", email="piet@gmail.com", domain="gmail.com", hours=2),
        "gmail_3": lead("gm3", email="kees@Gmail.com", domain="Gmail.com", hours=3),
        "ziggo_1": lead("zg1", email="a@ziggo.nl", domain="ziggo.nl", hours=1),
        "ziggo_2": lead("zg2", email="b@ziggo.nl", domain="ziggo.nl", hours=2),
        # No domain at all: nothing to collapse on.
        "no_domain_1": lead("nodom1", domain=None),
        "no_domain_2": lead("nodom2", domain=None),
        # A second list, for previews over several lists.
        "second_list": lead("second", list_name="horeca", domain="alpha.nl", hours=-5),
    }
    db.session.add_all(
        [
            Suppression(email="jan.jansen@supaddr.nl", reason="unsubscribed"),
            Suppression(email="KEES@SupLow.nl", reason="complaint"),
            Suppression(domain="supdom.nl", reason="manual"),
            Suppression(email="nobody@elsewhere.nl", reason="manual"),
        ]
    )
    db.session.commit()
    return made


@pytest.fixture
def edges(app: Flask) -> dict[str, Any]:
    return seed_every_edge()


@pytest.fixture
def pg(app: Flask, database_url: str) -> Any:
    with psycopg.connect(database_url) as connection:
        yield connection


def filters(**overrides: Any) -> AudienceFilters:
    return replace(AudienceFilters(list_names=("mkb",)), **overrides)


SWITCHES = list(itertools.product([True, False], [True, False], [14, None], [True, False]))


@pytest.mark.parametrize(("complete", "suppressed", "recent", "per_domain"), SWITCHES)
def test_the_funnel_equals_the_reference_sql_for_every_switch(
    edges: dict[str, Any], pg: Any, complete: bool, suppressed: bool, recent: Any, per_domain: bool
) -> None:
    chosen = filters(
        only_complete=complete,
        exclude_suppressed=suppressed,
        exclude_recent_days=recent,
        one_per_domain=per_domain,
    )
    expected = reference_funnel(pg, chosen, NOW)
    preview = preview_audience(chosen, NOW).to_dict()
    assert {k: preview[k] for k in ("total", "removed", "selected")} == {
        k: expected[k] for k in ("total", "removed", "selected")
    }
    assert selected_lead_ids(chosen, NOW) == expected["ids"]


@pytest.mark.parametrize("days", [1, 13, 14, 15, 30])
def test_the_recent_contact_window_matches_the_reference_for_any_number_of_days(
    edges: dict[str, Any], pg: Any, days: int
) -> None:
    chosen = filters(exclude_recent_days=days, one_per_domain=True)
    expected = reference_funnel(pg, chosen, NOW)
    assert preview_audience(chosen, NOW).removed == expected["removed"]


def test_several_lists_are_one_base_set(edges: dict[str, Any], pg: Any) -> None:
    chosen = filters(list_names=("mkb", "horeca"), one_per_domain=True)
    expected = reference_funnel(pg, chosen, NOW)
    preview = preview_audience(chosen, NOW)
    assert (preview.total, preview.removed, preview.selected) == (
        expected["total"],
        expected["removed"],
        expected["selected"],
    )
    # The horeca lead is alpha's earliest: it now stands for alpha.nl.
    assert edges["second_list"].id in selected_lead_ids(chosen, NOW)
    assert edges["alpha_first"].id not in selected_lead_ids(chosen, NOW)


def test_the_default_funnel_on_the_edge_fixture(edges: dict[str, Any]) -> None:
    preview = preview_audience(filters(one_per_domain=True), NOW)
    assert preview.total == 33
    assert preview.removed == {
        "incomplete": 8,
        "suppressed": 5,
        "recent": 2,
        "duplicate_domain": 4,
    }
    assert preview.selected == 14
    ids = selected_lead_ids(filters(one_per_domain=True), NOW)
    for kept in ("alpha_first", "beta_kept", "delta_kept", "emailed_14_plus", "emailed_15"):
        assert edges[kept].id in ids, kept
    for dropped in ("alpha_second", "delta_dup", "emailed_14", "blank_company", "no_url"):
        assert edges[dropped].id not in ids, dropped
    tie_winner = min(edges["tie_a"].id, edges["tie_b"].id)
    assert tie_winner in ids
    assert {edges[f"gmail_{n}"].id for n in (1, 2, 3)} <= set(ids)


def test_the_preview_runs_the_same_funnel_on_sqlite(sqlite_app: Flask) -> None:
    seed_every_edge()
    preview = preview_audience(filters(one_per_domain=True), NOW)
    assert (preview.total, preview.selected) == (33, 14)
    assert preview.removed == {
        "incomplete": 8,
        "suppressed": 5,
        "recent": 2,
        "duplicate_domain": 4,
    }
    everything_off = filters(
        only_complete=False, exclude_suppressed=False, exclude_recent_days=None
    )
    assert preview_audience(everything_off, NOW).selected == 33


def test_a_switched_off_filter_removes_nothing(edges: dict[str, Any]) -> None:
    preview = preview_audience(
        filters(only_complete=False, exclude_suppressed=False, exclude_recent_days=None), NOW
    )
    assert preview.removed == dict.fromkeys(preview.removed, 0)
    assert preview.selected == preview.total


def test_the_sample_lists_selected_leads_oldest_first_with_what_they_lack(
    edges: dict[str, Any],
) -> None:
    preview = preview_audience(filters(only_complete=False), NOW, sample_size=40)
    sample = {lead["id"]: lead for lead in preview.sample}
    assert len(sample) == preview.selected
    created = [lead["created_at"] for lead in preview.sample]
    assert created == sorted(created)
    assert sample[edges["blank_company"].id]["missing_variables"] == ["company"]
    assert sample[edges["no_url"].id]["missing_variables"] == ["url"]
    assert sample[edges["alpha_first"].id]["missing_variables"] == []


def test_an_empty_selection_still_reports_the_funnel(app: Flask) -> None:
    lead("only", status="bounced")
    db.session.commit()
    preview = preview_audience(filters(), NOW)
    assert (preview.total, preview.selected, preview.sample) == (1, 0, [])
    assert preview.removed["suppressed"] == 1


def test_a_preview_takes_one_statement(edges: dict[str, Any]) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith("SET LOCAL"):  # a setting, not a round trip for data
            statements.append(args[2])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        preview_audience(filters(one_per_domain=True), NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1


def test_missing_variables_treats_whitespace_and_null_as_missing() -> None:
    values = {"company": " \t", "url": None, "city": "Utrecht", "count": 0}
    assert missing_variables(["company", "url", "city", "zip"], values) == [
        "company",
        "url",
        "zip",
    ]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({}, "list_names"),
        ({"list_names": []}, "list_names"),
        ({"list_names": "mkb", "exclude_recent_days": -3}, "exclude_recent_days"),
        ({"list_names": ["mkb"], "exclude_recent_days": "veertien"}, "exclude_recent_days"),
        ({"list_names": ["mkb"], "one_per_domain": "misschien"}, "one_per_domain"),
        ({"list_names": [3]}, "list_names"),
    ],
)
def test_invalid_builder_settings_name_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(AudienceError) as error:
        parse_filters(raw)
    assert field in error.value.fields


def test_builder_settings_parse_forms_and_json_alike() -> None:
    parsed = parse_filters(
        {
            "list_names": ["mkb", " horeca ", "mkb"],
            "only_complete": "on",
            "exclude_suppressed": False,
            "exclude_recent_days": "0",
            "one_per_domain": "1",
        }
    )
    assert parsed == AudienceFilters(
        list_names=("mkb", "horeca"),
        only_complete=True,
        exclude_suppressed=False,
        exclude_recent_days=None,
        one_per_domain=True,
    )
    assert parse_filters({"list_names": ["mkb"]}).exclude_recent_days == 14


def first_name_template() -> Any:
    from webapp.models import Template, TemplateStep

    template = Template(name="Kennismaking")
    template.steps = [
        TemplateStep(
            mail_number=1,
            subject="Hallo {{ first_name }} van {{ company }}",
            body_html="<p>{{ url }} · {{ email }} · {{ domain }}</p>",
            body_text="{{ url }}",
        ),
        TemplateStep(mail_number=2, subject="", body_html="<p>Nog eens</p>", body_text="Nog eens"),
    ]
    db.session.add(template)
    db.session.commit()
    return template


@pytest.mark.parametrize("per_domain", [True, False])
def test_the_templates_own_variables_count_for_completeness(
    edges: dict[str, Any], pg: Any, per_domain: bool
) -> None:
    template = first_name_template()
    chosen = filters(template_id=template.id, one_per_domain=per_domain)
    expected = reference_funnel(pg, chosen, NOW, ["first_name"])
    preview = preview_audience(chosen, NOW)
    assert preview.required_variables == ["company", "url", "first_name"]
    assert (preview.total, preview.removed, preview.selected) == (
        expected["total"],
        expected["removed"],
        expected["selected"],
    )
    # Lead columns (email, domain) need no entry in vars; first_name does.
    assert preview.removed["incomplete"] == 9
    assert edges["no_first_name"].id not in selected_lead_ids(chosen, NOW)
    assert selected_lead_ids(chosen, NOW) == expected["ids"]


def test_a_variable_with_a_fallback_does_not_make_a_lead_incomplete(
    edges: dict[str, Any],
) -> None:
    from webapp.models import Template, TemplateStep

    template = Template(name="Met terugval")
    template.steps = [
        TemplateStep(
            mail_number=1,
            subject='Hallo {{ first_name | d("daar") }}',
            body_html='<p>Beste {{ first_name | default("ondernemer") }},</p>'
            "{% if branche is defined %}<p>{{ branche }}</p>{% endif %}",
            body_text="",
        )
    ]
    db.session.add(template)
    db.session.commit()
    chosen = filters(template_id=template.id)

    preview = preview_audience(chosen, NOW)
    assert preview.required_variables == ["company", "url"]
    assert preview.removed == preview_audience(filters(), NOW).removed
    without = edges["no_first_name"]
    assert without.id in selected_lead_ids(chosen, NOW)

    mail = render_step(
        template.steps[0], without, sender="Christian", unsubscribe_url="https://c.test/u/1"
    )
    assert mail.subject == "Hallo daar"
    assert "<p>Beste ondernemer,</p>" in mail.html


def test_a_preview_with_a_template_takes_at_most_two_statements(edges: dict[str, Any]) -> None:
    from sqlalchemy import event

    template_id = first_name_template().id
    db.session.expunge_all()
    statements: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith("SET LOCAL"):  # a setting, not a round trip for data
            statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        preview_audience(filters(template_id=template_id, one_per_domain=True), NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 2


def test_the_funnel_has_room_and_parallel_reads_on_postgresql(edges: dict[str, Any]) -> None:
    preview_audience(filters(one_per_domain=True), NOW)
    # The transaction's own settings: at PostgreSQL's 4 MB the base set spilled to disk,
    # and its default costs never read the lists in parallel.
    for name, value in FUNNEL_SETTINGS.items():
        assert db.session.execute(sa.text(f"SHOW {name}")).scalar() == value
    db.session.rollback()
    assert db.session.execute(sa.text("SHOW work_mem")).scalar() != FUNNEL_WORK_MEM


def test_an_unknown_template_is_an_error_on_its_field(edges: dict[str, Any]) -> None:
    with pytest.raises(AudienceError) as error:
        preview_audience(filters(template_id="no-such-template"), NOW)
    assert error.value.fields == {"template_id": "no such template"}
