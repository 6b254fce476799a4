"""Campaigns: creating a draft with its audience snapshot, editing, and the lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead, make_template
from webapp.extensions import db
from webapp.models import Campaign, Message, SendingDomain
from webapp.services.campaigns import campaign_to_dict, list_messages
from webapp.services.campaigns.lifecycle import (
    TRANSITIONS,
    CampaignConflict,
    CampaignInputError,
    TransitionError,
    apply_action,
    complete_if_done,
    create_campaign,
    update_campaign,
)
from webapp.services.domains import seed_default_domains
from webapp.services.planning.report import dry_run_report, plan_request_for

# A Monday morning, before the 09:00 Europe/Amsterdam window opens.
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def setup(app: Flask) -> dict[str, Any]:
    seed_default_domains()
    template = make_template(steps=3)
    leads = [
        make_lead(list_name="mkb", created_at=NOW - timedelta(days=10, hours=n)) for n in range(6)
    ]
    make_lead(list_name="mkb", status="bounced")
    make_lead(list_name="elders")
    db.session.commit()
    return {"template": template, "leads": leads}


def body(setup: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Voorjaar mkb",
        "template_id": setup["template"].id,
        "audience": {"list_names": ["mkb"]},
        "followup_enabled": True,
        "followup_days": 3,
    }
    values.update(overrides)
    return values


def queued(campaign: Campaign) -> list[Message]:
    db.session.expire_all()
    return list(
        db.session.execute(
            sa.select(Message)
            .where(Message.campaign_id == campaign.id, Message.status == "queued")
            .order_by(Message.scheduled_at)
        ).scalars()
    )


def test_creating_stores_a_draft_with_its_audience_snapshot(setup: dict[str, Any]) -> None:
    campaign = create_campaign(
        body(setup, audience={"list_names": ["mkb"], "one_per_domain": True}), None, NOW
    )
    db.session.commit()
    assert campaign.status == "draft"
    oldest_first = sorted(setup["leads"], key=lambda lead: (lead.created_at, lead.id))
    assert campaign.audience.lead_ids == [lead.id for lead in oldest_first]
    assert campaign.audience.list_names == ["mkb"]
    assert campaign.audience.one_per_domain is True
    assert campaign.audience.exclude_recent_days == 14
    # No domains chosen: the active domain with the fewest running campaigns (v1 on a tie).
    assert campaign.domain == "punthelder-vindbaarheid.nl"
    assert campaign.domains == []
    shape = campaign_to_dict(campaign)
    assert shape["audience_size"] == 6
    assert shape["domains"] == ["punthelder-vindbaarheid.nl"]
    assert shape["domains_auto"] is True


def test_chosen_domains_are_kept_in_order(setup: dict[str, Any]) -> None:
    campaign = create_campaign(
        body(setup, domains=["punthelder-seo.nl", "PUNTHELDER-MARKETING.NL"]), None, NOW
    )
    assert campaign.domains == ["punthelder-seo.nl", "punthelder-marketing.nl"]
    assert campaign.domain == "punthelder-seo.nl"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"template_id": "nope"}, "template_id"),
        ({"audience": {"list_names": []}}, "audience.list_names"),
        ({"audience": None}, "audience.list_names"),
        ({"followup_days": -1}, "followup_days"),
        ({"followup_days": 61}, "followup_days"),
        ({"followup_days": "drie"}, "followup_days"),
        ({"domains": ["nope.nl"]}, "domains"),
        ({"start_at": "2026-03-02T09:00"}, "start_at"),
        ({"start_at": "morgen"}, "start_at"),
        ({"colour": "red"}, "colour"),
        ({"audience": {"list_names": ["nobody-here"]}}, "audience"),
    ],
)
def test_invalid_settings_name_the_field(
    setup: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(CampaignInputError) as error:
        create_campaign(body(setup, **overrides), None, NOW)
    assert field in error.value.fields


def test_a_template_without_steps_cannot_be_chosen(setup: dict[str, Any]) -> None:
    empty = make_template(steps=0)
    with pytest.raises(CampaignInputError) as error:
        create_campaign(body(setup, template_id=empty.id), None, NOW)
    assert error.value.fields["template_id"] == "this template has no steps yet"


def test_starting_writes_exactly_the_dry_run_plan(setup: dict[str, Any]) -> None:
    campaign = create_campaign(body(setup), None, NOW)
    db.session.commit()
    report = dry_run_report(plan_request_for(campaign), NOW)
    written = apply_action(campaign, "start", None, NOW)
    db.session.commit()
    assert campaign.status == "running"
    assert campaign.started_at == NOW
    assert written == report["total_messages"] == 6 * 3
    messages = queued(campaign)
    assert len(messages) == 18
    assert messages[0].scheduled_at == datetime.fromisoformat(report["per_domain"][0]["first_slot"])


def test_a_plan_that_cannot_be_made_leaves_the_campaign_a_draft(setup: dict[str, Any]) -> None:
    campaign = create_campaign(body(setup, domains=["punthelder-seo.nl"]), None, NOW)
    db.session.commit()
    db.session.execute(sa.update(SendingDomain).values(paused=True))
    db.session.commit()
    with pytest.raises(CampaignConflict):
        apply_action(campaign, "start", None, NOW)
    db.session.rollback()
    assert db.session.get(Campaign, campaign.id).status == "draft"
    assert queued(campaign) == []


ALL = ("draft", "running", "paused", "completed", "stopped")


@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop"])
@pytest.mark.parametrize("status", ALL)
def test_only_the_allowed_transitions_happen(
    setup: dict[str, Any], status: str, action: str
) -> None:
    campaign = create_campaign(body(setup), None, NOW)
    campaign.status = status
    db.session.commit()
    sources, target = TRANSITIONS[action]
    if status in sources:
        apply_action(campaign, action, None, NOW)
        assert campaign.status == target
    else:
        with pytest.raises(TransitionError) as error:
            apply_action(campaign, action, None, NOW)
        assert error.value.status == status
        assert f"it is {status}" in error.value.message
        db.session.rollback()
        assert db.session.get(Campaign, campaign.id).status == status


def test_the_lifecycle_table_is_the_products() -> None:
    allowed = {(src, action) for action, (sources, _) in TRANSITIONS.items() for src in sources}
    assert allowed == {
        ("draft", "start"),
        ("running", "pause"),
        ("paused", "resume"),
        ("draft", "stop"),
        ("running", "stop"),
        ("paused", "stop"),
        ("running", "complete"),
    }


def started(setup: dict[str, Any], **overrides: Any) -> Campaign:
    campaign = create_campaign(body(setup, **overrides), None, NOW)
    apply_action(campaign, "start", None, NOW)
    db.session.commit()
    return campaign


def test_pause_keeps_queued_mail_and_resume_replans_from_now(setup: dict[str, Any]) -> None:
    campaign = started(setup)
    before = {m.id: m.scheduled_at for m in queued(campaign)}
    apply_action(campaign, "pause", None, NOW + timedelta(hours=1))
    db.session.commit()
    assert {m.id: m.scheduled_at for m in queued(campaign)} == before

    later = NOW + timedelta(days=2, hours=5)  # Wednesday 11:00 UTC, inside the window
    apply_action(campaign, "resume", None, later)
    db.session.commit()
    after = queued(campaign)
    assert campaign.status == "running"
    assert {m.id for m in after} == set(before)
    assert min(m.scheduled_at for m in after) >= later


def test_stop_cancels_everything_queued_and_keeps_what_was_sent(setup: dict[str, Any]) -> None:
    campaign = started(setup)
    first = queued(campaign)[0]
    first.status, first.sent_at = "sent", NOW + timedelta(hours=3)
    db.session.commit()
    canceled = apply_action(campaign, "stop", None, NOW + timedelta(hours=4))
    db.session.commit()
    assert canceled == 17
    assert campaign.status == "stopped"
    assert campaign.finished_at == NOW + timedelta(hours=4)
    statuses = db.session.execute(
        sa.select(Message.status, sa.func.count())
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.status)
    ).all()
    assert dict(statuses) == {"sent": 1, "canceled": 17}


def test_a_running_campaign_completes_when_nothing_is_queued_or_sending(
    setup: dict[str, Any],
) -> None:
    campaign = started(setup)
    assert complete_if_done(campaign, NOW) is False
    db.session.execute(
        sa.update(Message).where(Message.campaign_id == campaign.id).values(status="sending")
    )
    assert complete_if_done(campaign, NOW) is False
    db.session.execute(
        sa.update(Message)
        .where(Message.campaign_id == campaign.id)
        .values(status="sent", sent_at=NOW)
    )
    assert complete_if_done(campaign, NOW + timedelta(days=9)) is True
    db.session.commit()
    assert campaign.status == "completed"
    assert campaign.finished_at == NOW + timedelta(days=9)
    # A paused or draft campaign never completes by itself.
    draft = create_campaign(body(setup), None, NOW)
    assert complete_if_done(draft, NOW) is False
    assert draft.status == "draft"


def test_a_draft_can_change_everything(setup: dict[str, Any]) -> None:
    campaign = create_campaign(body(setup), None, NOW)
    other = make_template(steps=1)
    update_campaign(
        campaign,
        {
            "name": "Najaar",
            "template_id": other.id,
            "audience": {"list_names": ["elders"], "exclude_recent_days": None},
            "start_at": "2026-03-09T09:00:00+01:00",
            "domains": ["punthelder-zoekmachine.nl"],
            "followup_days": 5,
        },
        None,
        NOW,
    )
    db.session.commit()
    assert (campaign.name, campaign.template_id, campaign.followup_days) == ("Najaar", other.id, 5)
    assert campaign.start_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    assert campaign.domains == ["punthelder-zoekmachine.nl"]
    assert campaign.audience.list_names == ["elders"]
    assert campaign_to_dict(campaign)["audience"]["exclude_recent_days"] is None
    assert len(campaign.audience.lead_ids) == 1


def test_a_running_campaign_takes_only_name_and_follow_up_changes(setup: dict[str, Any]) -> None:
    campaign = started(setup)
    with pytest.raises(CampaignConflict) as error:
        update_campaign(campaign, {"name": "x", "template_id": campaign.template_id}, None, NOW)
    assert set(error.value.fields) == {"template_id"}
    update_campaign(campaign, {"name": "Nieuwe naam"}, None, NOW)
    db.session.commit()
    assert campaign.name == "Nieuwe naam"


def test_turning_follow_ups_off_cancels_the_queued_ones(setup: dict[str, Any]) -> None:
    campaign = started(setup)
    update_campaign(campaign, {"followup_enabled": False}, None, NOW)
    db.session.commit()
    assert {m.mail_number for m in queued(campaign)} == {1}
    assert len(queued(campaign)) == 6


def test_more_days_between_mails_moves_the_queued_follow_ups_later(setup: dict[str, Any]) -> None:
    campaign = started(setup)
    before = {(m.lead_id, m.mail_number): m.scheduled_at for m in queued(campaign)}
    update_campaign(campaign, {"followup_days": 10}, None, NOW)
    db.session.commit()
    after = {(m.lead_id, m.mail_number): m.scheduled_at for m in queued(campaign)}
    assert set(after) == set(before)
    for (lead_id, number), at in after.items():
        if number > 1:
            assert at >= after[(lead_id, number - 1)] + timedelta(days=10), (lead_id, number)
            assert at > before[(lead_id, number)]


def test_turning_follow_ups_back_on_plans_them_again(setup: dict[str, Any]) -> None:
    campaign = started(setup, followup_enabled=False)
    assert len(queued(campaign)) == 6
    update_campaign(campaign, {"followup_enabled": True}, None, NOW)
    db.session.commit()
    assert len(queued(campaign)) == 18


def test_follow_ups_switched_off_and_on_come_back_except_after_a_reply(
    setup: dict[str, Any],
) -> None:
    from tests.factories import make_event

    campaign = started(setup)
    update_campaign(campaign, {"followup_enabled": False}, None, NOW)
    db.session.commit()
    first = queued(campaign)[0]
    first.status, first.sent_at = "sent", NOW + timedelta(hours=4)
    make_event(first, "replied")
    db.session.commit()
    update_campaign(campaign, {"followup_enabled": True}, None, NOW + timedelta(hours=5))
    db.session.commit()
    back = queued(campaign)
    # Five leads wait for mail 1 and have their two follow-ups back; the one who replied has none.
    assert len(back) == 5 + 5 * 2
    assert first.lead_id not in {m.lead_id for m in back}


def test_a_finished_campaign_cannot_change(setup: dict[str, Any]) -> None:
    campaign = started(setup)
    apply_action(campaign, "stop", None, NOW)
    with pytest.raises(CampaignConflict):
        update_campaign(campaign, {"name": "later"}, None, NOW)


def test_the_messages_table_filters_and_pages(setup: dict[str, Any]) -> None:
    campaign = started(setup)
    page = list_messages(campaign.id, per_page=5)
    assert (len(page.items), page.total) == (5, 18)
    page = list_messages(campaign.id, mail_number=2)
    assert page.total == 6 and {i["mail_number"] for i in page.items} == {2}
    assert list_messages(campaign.id, status="sent").total == 0
    page = list_messages(campaign.id, page=4, per_page=5)
    assert (len(page.items), page.total) == (3, 18)
    assert list_messages(campaign.id, domain="punthelder-vindbaarheid.nl").total == 18
    assert list_messages(campaign.id, domain="punthelder-seo.nl").total == 0


@pytest.mark.sqlite
def test_the_lifecycle_runs_on_the_embedded_sqlite_default(sqlite_app: Flask) -> None:
    seed_default_domains()
    template = make_template(steps=2)
    for n in range(3):
        make_lead(list_name="mkb", created_at=NOW - timedelta(days=n + 1))
    db.session.commit()
    campaign = create_campaign(body({"template": template}), None, NOW)
    db.session.commit()
    assert apply_action(campaign, "start", None, NOW) == 6
    db.session.commit()
    with pytest.raises(TransitionError):
        apply_action(campaign, "start", None, NOW)
    db.session.rollback()
    assert apply_action(campaign, "stop", None, NOW) == 6
    db.session.commit()
    assert campaign.status == "stopped"
