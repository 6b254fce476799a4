"""The demo data set, and the lead-field helpers it shares with the importer."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import pytest
import sqlalchemy as sa
from flask import Flask
from jinja2.sandbox import SandboxedEnvironment

from webapp.database import utcnow
from webapp.demo.seed import DEMO_PASSWORD, DEMO_USERS, demo_leads, seed_demo
from webapp.demo.world import seed_demo_world
from webapp.extensions import db
from webapp.models import (
    Lead,
    Message,
    MessageEvent,
    SendingDomain,
    Suppression,
    Template,
    User,
)
from webapp.services.kpis.summaries import summary_drift
from webapp.services.leads.fields import company_domain, is_free_mail

LISTS = {"mkb-utrecht", "horeca-amsterdam", "bouw-brabant", "advocaten-randstad"}

# -- company_domain and is_free_mail: no database ----------------------------------------


def test_company_domain_prefers_the_url_over_the_address() -> None:
    assert company_domain("https://www.bakkerij-jansen.nl", "jan@gmail.com") == (
        "bakkerij-jansen.nl"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://www.Example.nl/path",
        "http://example.nl",
        "HTTPS://WWW.EXAMPLE.NL/contact?x=1#top",
        "example.nl",
        "www.example.nl:8080",
        "www.example.nl/over-ons/",
        "  https://www.example.nl  ",
        "https://user@www.example.nl.:443/",
        "//www.example.nl",
    ],
)
def test_company_domain_strips_scheme_www_port_path_and_case(url: str) -> None:
    assert company_domain(url, "info@other.nl") == "example.nl"


def test_company_domain_converts_an_idn_to_ascii() -> None:
    assert company_domain("https://www.bücher.nl", "info@other.nl") == "xn--bcher-kva.nl"
    assert company_domain("https://www.BÜCHER.nl/winkel", "x@y.nl") == "xn--bcher-kva.nl"
    assert company_domain(None, "info@bücher.nl") == "xn--bcher-kva.nl"


@pytest.mark.parametrize("url", [None, "", "   ", "n.v.t.", "-", "http://[broken"])
def test_company_domain_falls_back_to_the_address_without_a_usable_url(url: str | None) -> None:
    assert company_domain(url, " Info@WWW.Van-Dijk.NL ") == "van-dijk.nl"


@pytest.mark.parametrize("email", ["", "not-an-address", "jan@", "jan@localhost"])
def test_company_domain_is_none_when_nothing_is_usable(email: str) -> None:
    assert company_domain(None, email) is None


def test_a_free_mail_lead_without_url_has_the_providers_domain() -> None:
    assert company_domain(None, "Jan.Jansen@Gmail.com") == "gmail.com"
    assert is_free_mail(company_domain(None, "jan@ziggo.nl"))


@pytest.mark.parametrize(
    "domain", ["gmail.com", "hotmail.com", "outlook.com", "live.nl", "ziggo.nl", "kpnmail.nl"]
)
def test_free_mail_providers_are_recognised(domain: str) -> None:
    assert is_free_mail(domain)
    assert is_free_mail(domain.upper())


@pytest.mark.parametrize("domain", [None, "", "example.nl", "punthelder.nl", "mail.example.nl"])
def test_company_domains_are_not_free_mail(domain: str | None) -> None:
    assert not is_free_mail(domain)


def test_the_demo_leads_are_the_same_every_time() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    first, _ = demo_leads(now)
    second, _ = demo_leads(now)
    assert [(lead["email"], lead["vars"], lead["created_at"]) for lead in first] == [
        (lead["email"], lead["vars"], lead["created_at"]) for lead in second
    ]


# -- seed_demo: an empty, migrated database ----------------------------------------------


def _all_leads() -> list[Lead]:
    return list(db.session.execute(sa.select(Lead)).scalars())


def _count(model: Any) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def _filled(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _complete(lead: Lead) -> bool:
    return _filled(lead.vars.get("company")) and _filled(lead.vars.get("url"))


def test_seed_demo_creates_users_domains_a_template_and_2100_leads(app: Flask) -> None:
    summary = seed_demo()
    db.session.commit()

    assert summary["seeded"] is True
    assert summary["leads"] == _count(Lead) == 2100
    assert summary["users"] == 3 and summary["domains"] == 4 and summary["templates"] == 1
    assert summary["suppressions"] == _count(Suppression)
    roles = {row.email: row.role for row in db.session.execute(sa.select(User.email, User.role))}
    assert roles == dict(DEMO_USERS)
    assert len(DEMO_PASSWORD) >= 10
    assert _count(SendingDomain) == 4
    template = db.session.execute(sa.select(Template)).scalar_one()
    assert [step.mail_number for step in template.steps] == [1, 2, 3, 4]


def test_demo_leads_are_unique_realistic_and_spread_over_four_lists(app: Flask) -> None:
    seed_demo()
    db.session.commit()
    leads = _all_leads()
    now = datetime.now(UTC)

    emails = [lead.email for lead in leads]
    assert len(set(emails)) == 2100
    assert all(email == email.strip().lower() and "@" in email for email in emails)
    per_list = Counter(lead.list_name for lead in leads)
    assert set(per_list) == LISTS
    assert 700 <= per_list["mkb-utrecht"] <= 900
    assert all(per_list[name] >= 250 for name in LISTS)
    for lead in leads:
        assert lead.domain == company_domain(lead.url, lead.email)
        assert now - timedelta(days=90) <= lead.created_at <= now
        assert lead.created_at.tzinfo is not None
        assert {"first_name", "city", "branche"} <= set(lead.vars)
        if lead.company is not None:
            assert lead.vars["company"] == lead.company
        if lead.url is not None:
            assert lead.vars["url"] == lead.url
            assert lead.url.startswith("https://www.") and lead.url.endswith(".nl")
    branches = Counter(lead.vars["branche"] for lead in leads)
    assert {"horeca", "bouw", "advocatuur", "installatietechniek"} <= set(branches)


def test_demo_leads_carry_every_edge_on_purpose(app: Flask) -> None:
    seed_demo()
    db.session.commit()
    leads = _all_leads()
    free_mail = [lead for lead in leads if is_free_mail(lead.domain)]
    companies = [lead for lead in leads if not is_free_mail(lead.domain)]

    # Free-mail addresses have no website, so their domain is the provider's.
    assert 60 <= len(free_mail) <= 110
    assert all(lead.url is None and "url" not in lead.vars for lead in free_mail)
    assert {"gmail.com", "hotmail.com", "ziggo.nl", "kpnmail.nl"} <= {
        lead.domain for lead in free_mail
    }
    # Incomplete: an empty, blank or missing company, or no website.
    incomplete = [lead for lead in companies if not _complete(lead)]
    assert 100 <= len(incomplete) <= 150
    companies_given = [lead.vars.get("company") for lead in incomplete]
    assert "" in companies_given and None in companies_given  # empty, and missing
    assert any(isinstance(c, str) and c and not c.strip() for c in companies_given)  # blank
    assert any("url" not in lead.vars for lead in companies)
    assert all(lead.company is None or lead.url is None for lead in incomplete)
    # Colleagues: 2-4 addresses at one company domain.
    per_domain = Counter(lead.domain for lead in companies)
    sharing = [n for n in per_domain.values() if n > 1]
    assert 130 <= sum(sharing) <= 210
    assert set(sharing) <= {2, 3, 4}

    status = Counter(lead.status for lead in leads)
    assert 40 <= status["suppressed"] <= 85
    assert 10 <= status["bounced"] <= 35
    assert 3 <= sum(lead.stopped for lead in leads) <= 40
    assert 3 <= sum(lead.deleted_at is not None for lead in leads) <= 40


def test_suppressed_and_bounced_demo_leads_are_on_the_suppression_list(app: Flask) -> None:
    seed_demo()
    db.session.commit()
    leads = _all_leads()
    suppressions = list(db.session.execute(sa.select(Suppression)).scalars())
    by_email = {s.email: s.reason for s in suppressions if s.email}

    for lead in leads:
        if lead.status == "suppressed":
            assert by_email[lead.email] == "unsubscribed"
        elif lead.status == "bounced":
            assert by_email[lead.email] == "hard_bounce"
    assert len(by_email) == sum(lead.status != "active" for lead in leads)
    manual = [s for s in suppressions if s.domain]
    assert len(manual) == 2 and {s.reason for s in manual} == {"manual"}
    lead_domains = Counter(lead.domain for lead in leads)
    assert all(lead_domains[s.domain] >= 1 for s in manual)
    assert any(lead_domains[s.domain] > 1 for s in manual)


def test_every_template_step_renders_for_every_complete_lead(app: Flask) -> None:
    seed_demo()
    db.session.commit()
    template = db.session.execute(sa.select(Template)).scalar_one()
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    leads = [lead for lead in _all_leads() if _complete(lead)]
    assert len(leads) > 1500

    for step in template.steps:
        parts = [env.from_string(p) for p in (step.subject, step.body_html, step.body_text)]
        for lead in leads:
            subject, html, text = (
                part.render(**lead.vars, sender="Christian de Vries") for part in parts
            )
            assert "{{" not in subject + html + text
            assert lead.vars["url"] in html and f'href="{lead.vars["url"]}"' in html
            assert lead.vars["url"] in text or lead.vars["company"] in text
            assert lead.vars["first_name"] in text
        assert "afmeld" not in step.body_text.lower() and "uitschrijv" not in step.body_text.lower()
    first = template.steps[0]
    assert "{{ company }}" in first.subject and "{{ branche }}" in first.body_text
    assert all(step.subject == "" for step in template.steps if step.mail_number in (2, 4))


def test_seed_demo_if_empty_leaves_a_seeded_database_alone(app: Flask) -> None:
    seed_demo()
    db.session.commit()
    models = (Lead, Suppression, Template, SendingDomain, User)
    before = [_count(model) for model in models]

    assert seed_demo(if_empty=True) == {"seeded": False}
    db.session.commit()
    assert [_count(model) for model in models] == before

    again = seed_demo()
    db.session.commit()
    assert again["leads"] == again["suppressions"] == again["users"] == 0
    assert [_count(model) for model in models] == before


@pytest.mark.sqlite
def test_seed_demo_works_on_the_embedded_sqlite_default(sqlite_app: Flask) -> None:
    summary = seed_demo(if_empty=True)
    db.session.commit()
    assert summary["seeded"] is True and _count(Lead) == 2100
    assert seed_demo(if_empty=True) == {"seeded": False}


# -- seed_demo_world: the history keeps the product's own rules --------------------------


def _messages_after(event_type: str) -> list[Any]:
    """The lead's messages in a campaign where one of its messages has `event_type`, with
    the first such event's time."""
    first = (
        sa.select(
            Message.campaign_id,
            Message.lead_id,
            sa.func.min(MessageEvent.created_at).label("at"),
        )
        .join(MessageEvent, MessageEvent.message_id == Message.id)
        .where(MessageEvent.event_type == event_type)
        .group_by(Message.campaign_id, Message.lead_id)
        .subquery()
    )
    return list(
        db.session.execute(
            sa.select(Message.id, Message.status, Message.sent_at, first.c.at).join(
                first,
                sa.and_(
                    first.c.campaign_id == Message.campaign_id, first.c.lead_id == Message.lead_id
                ),
            )
        ).all()
    )


def test_the_demo_history_keeps_the_rules_of_replies_bounces_opens_and_sends(
    app: Flask,
) -> None:
    seed_demo_world(utcnow())
    db.session.commit()
    events = db.session.execute(
        sa.select(
            MessageEvent.event_type, MessageEvent.created_at, Message.sent_at, Message.status
        ).join(Message, Message.id == MessageEvent.message_id)
    ).all()
    kinds = Counter(e.event_type for e in events)
    assert kinds["sent"] and kinds["opened"] and kinds["clicked"]
    assert kinds["replied"] and kinds["bounced"]

    # A reply stops the lead's remaining mails in that campaign (docs/rules.md, "Inbox
    # linking"), and a hard bounce every mail of the lead ("Sending").
    for event_type in ("replied", "bounced"):
        rows = _messages_after(event_type)
        assert rows
        assert [r for r in rows if r.status in ("queued", "sending")] == [], event_type
        assert [r for r in rows if r.sent_at is not None and r.sent_at > r.at] == [], event_type
    bounced_leads = db.session.execute(
        sa.select(Lead.status, Lead.email)
        .join(Message, Message.lead_id == Lead.id)
        .where(Message.status == "bounced")
    ).all()
    suppressed = set(db.session.execute(sa.select(Suppression.email)).scalars())
    assert {status for status, _ in bounced_leads} == {"bounced"}
    assert {email for _, email in bounced_leads} <= suppressed

    # Nothing is opened or clicked before it was sent.
    opened_early = db.session.execute(
        sa.select(Message.id).where(
            Message.open_at.is_not(None),
            sa.or_(Message.sent_at.is_(None), Message.open_at < Message.sent_at),
        )
    ).all()
    assert opened_early == []
    tracked = [e for e in events if e.event_type in ("opened", "clicked")]
    assert [e for e in tracked if e.sent_at is None or e.created_at < e.sent_at] == []

    # A mail that never went out has no events but its own SMTP bounce, and being canceled
    # (what canceling writes, whether a reply, a bounce or a stop did it).
    unsent = {e.event_type for e in events if e.sent_at is None}
    assert unsent <= {"bounced", "canceled"}
    assert {e.status for e in events if e.sent_at is None and e.event_type == "bounced"} == {
        "bounced"
    }
    assert summary_drift() == {"totals": [], "days": []}
