"""Small factories: a valid row with sensible defaults, any field overridable."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from webapp.extensions import db
from webapp.models import Campaign, Lead, Message, MessageEvent, Template, TemplateStep


def _unique() -> str:
    return os.urandom(4).hex()


def make_lead(**overrides: Any) -> Lead:
    slug = _unique()
    values: dict[str, Any] = {
        "email": f"info@bedrijf-{slug}.nl",
        "company": f"Bedrijf {slug}",
        "url": f"https://www.bedrijf-{slug}.nl",
        "domain": f"bedrijf-{slug}.nl",
        "list_name": "test-list",
        "vars": {"company": f"Bedrijf {slug}", "url": f"https://www.bedrijf-{slug}.nl"},
    }
    values.update(overrides)
    lead = Lead(**values)
    db.session.add(lead)
    db.session.flush()
    return lead


def make_template(steps: int = 1, **overrides: Any) -> Template:
    template = Template(name=overrides.pop("name", f"Template {_unique()}"), **overrides)
    for number in range(1, steps + 1):
        template.steps.append(
            TemplateStep(
                mail_number=number,
                subject=f"Mail {number} voor {{{{ company }}}}",
                body_html=f"<p>Hallo {{{{ company }}}}, mail {number}.</p>",
                body_text=f"Hallo {{{{ company }}}}, mail {number}.",
            )
        )
    db.session.add(template)
    db.session.flush()
    return template


def make_campaign(**overrides: Any) -> Campaign:
    if "template_id" not in overrides:
        overrides["template_id"] = make_template().id
    values: dict[str, Any] = {"name": f"Campaign {_unique()}", "domain": "punthelder-seo.nl"}
    values.update(overrides)
    campaign = Campaign(**values)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def make_message(campaign: Campaign, lead: Lead, **overrides: Any) -> Message:
    values: dict[str, Any] = {
        "campaign_id": campaign.id,
        "lead_id": lead.id,
        "domain_used": campaign.domain or "punthelder-seo.nl",
        "scheduled_at": datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        "mail_number": 1,
    }
    values.update(overrides)
    message = Message(**values)
    db.session.add(message)
    db.session.flush()
    return message


def make_event(message: Message, event_type: str = "sent", **overrides: Any) -> MessageEvent:
    event = MessageEvent(message_id=message.id, event_type=event_type, **overrides)
    db.session.add(event)
    db.session.flush()
    return event
