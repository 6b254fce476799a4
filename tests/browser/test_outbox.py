"""Reading a sent mail on the Outbox page in a real browser never counts as the lead opening
or clicking it (docs/rules.md, decision 8)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD
from tests.sending_support import make_domain, make_running_campaign
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Message, MessageEvent
from webapp.services.sending import dispatch_once, send_claimed_message

pytestmark = pytest.mark.browser

DESTINATION = "https://www.punthelder.nl/rapport"


@pytest.fixture
def tracked_here(app: Flask, live_server: str, tmp_path: Path) -> Iterator[Path]:
    """Mail tracked by this very server, into a fresh outbox, opens written at once.

    The pixel and the tracked links point at the server the browser talks to, so a preview
    that loaded them would record an open or a click where the test can see it.
    """
    changed = {
        "PUBLIC_BASE_URL": live_server,
        "OUTBOX_DIR": str(tmp_path),
        "TRACKING_BUFFER": False,
    }
    previous = {key: app.config.get(key) for key in changed}
    app.config.update(changed)
    yield tmp_path
    app.config.update(previous)


def test_opening_a_mail_in_the_outbox_records_no_open_and_follows_no_tracked_link(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any], tracked_here: Path
) -> None:
    campaign, leads, (message,) = make_running_campaign(
        [make_domain("punthelder-seo.nl", 1)], leads=1
    )
    campaign.template.steps[0].body_html = (
        f'<html><body><p>Hallo {{{{ company }}}}, <a href="{DESTINATION}" id="report">'
        "bekijk het rapport</a>.</p></body></html>"
    )
    user = make_user("marketer")
    db.session.commit()
    # Sent the way the worker sends it: claimed, rendered, tracked, written to the outbox.
    ((message_id, claim),) = dispatch_once(utcnow(), enqueue=False).claimed
    assert send_claimed_message(message_id, claim) == "sent"
    written = (tracked_here / f"{message.id}.eml").read_text()
    assert f"{live_server}/t/o/" in written and f"{live_server}/t/c/" in written

    tracking_requests: list[str] = []
    page.on("request", lambda request: _note_tracking(request.url, tracking_requests))
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.get_by_role("link", name="Outbox").click()
    page.get_by_role("link", name=f"Mail 1 voor {leads[0].company}").click()
    page.wait_for_url(f"{live_server}/outbox/{message.id}")

    mail = page.frame_locator('iframe[title="The mail as HTML"]')
    assert mail.locator("p").first.inner_text().startswith(f"Hallo {leads[0].company}")
    assert mail.locator("#report").get_attribute("href") == DESTINATION
    assert mail.locator("img").count() == 0
    page.wait_for_load_state("networkidle")

    assert tracking_requests == []
    db.session.expire_all()
    events = db.session.execute(
        sa.select(MessageEvent.event_type).where(MessageEvent.message_id == message.id)
    ).scalars()
    assert sorted(events) == ["sent"]
    stored = db.session.get(Message, message.id)
    assert stored is not None and stored.status == "sent" and stored.open_at is None


def _note_tracking(url: str, seen: list[str]) -> None:
    if "/t/o/" in url or "/t/c/" in url:
        seen.append(url)
