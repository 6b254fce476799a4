"""Building blocks for sending tests: domains aimed at a test SMTP server, due mail."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from tests.factories import make_campaign, make_lead, make_message, make_template
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, Lead, Message, SendingDomain


def noon_zone(now: datetime | None = None) -> str:
    """A fixed-offset zone in which it is about noon right now, so an 08:00-20:00
    window is open whatever the hour the tests run at."""
    hour = (now or utcnow()).astimezone(UTC).hour
    offset = 12 - hour  # local = UTC + offset
    if offset == 0:
        return "Etc/UTC"
    # Etc/GMT signs are inverted: Etc/GMT-5 is UTC+5.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def make_domain(name: str, smtp_port: int, interval_seconds: int = 1, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "name": name,
        "label": name.split(".")[0],
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_tls": "none",
        "interval_seconds": interval_seconds,
        "window_start": time(8, 0),
        "window_end": time(20, 0),
        "working_days": [1, 2, 3, 4, 5, 6, 7],
        "timezone": noon_zone(),
        "skip_holidays": False,
        "aliases": [
            {"alias": "christian", "display_name": "Christian de Vries"},
            {"alias": "victor", "display_name": "Victor Jansen"},
        ],
    }
    values.update(overrides)
    domain = SendingDomain(**values)
    db.session.add(domain)
    db.session.flush()
    return domain


def make_running_campaign(
    domains: list[SendingDomain],
    leads: int,
    steps: int = 1,
    **overrides: Any,
) -> tuple[Campaign, list[Lead], list[Message]]:
    """A running campaign whose messages are all due, spread over the domains."""
    template = make_template(steps=steps)
    campaign = make_campaign(
        template_id=template.id, status="running", domain=domains[0].name, **overrides
    )
    created: list[Lead] = []
    messages: list[Message] = []
    due = utcnow() - timedelta(minutes=5)
    for index in range(leads):
        lead = make_lead()
        created.append(lead)
        domain = domains[index % len(domains)]
        alias = ("christian", "victor")[index % 2]
        parent = None
        for number in range(1, steps + 1):
            message = make_message(
                campaign,
                lead,
                mail_number=number,
                domain_used=domain.name,
                alias=alias,
                from_email=f"{alias}@{domain.name}",
                scheduled_at=due + timedelta(seconds=number - 1),
                parent_message_id=parent.id if parent else None,
                is_followup=number > 1,
            )
            messages.append(message)
            parent = message
    db.session.add(
        CampaignAudience(campaign_id=campaign.id, lead_ids=[lead.id for lead in created])
    )
    db.session.commit()
    return campaign, created, messages
