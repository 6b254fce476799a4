"""The audit trail over the API: admins and managers, the page's filters, cursors, 422s."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from tests.factories import make_campaign
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.services.users import get_user_by_email

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def record(action: str, user_id: str | None, at: datetime, **details: Any) -> AuditEvent:
    event = AuditEvent(
        action=action,
        user_id=user_id,
        subject_type="campaign",
        subject_id=None,
        details=details,
        created_at=at,
    )
    db.session.add(event)
    return event


def me(client: Any, headers: dict[str, str]) -> str:
    user = get_user_by_email(client.get("/api/v1/me", headers=headers).json["email"])
    assert user is not None
    return str(user.id)


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("manager", 200), ("marketer", 403)])
def test_admins_and_managers_read_the_trail_over_the_api(
    role: str, status: int, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client(role)
    response = client.get("/api/v1/audit", headers=headers)
    assert response.status_code == status
    assert client.get("/api/v1/audit/export.csv", headers=headers).status_code == status
    if status == 403:
        assert response.json["error"]["code"] == "forbidden"


def test_filters_and_cursors_select_exactly_the_asked_events(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("manager")
    reader = me(client, headers)
    campaign = make_campaign(name="Lente")
    db.session.flush()
    wanted = []
    for hour in range(48):
        at = START + timedelta(hours=hour)
        event = record("campaign.start", reader, at, messages=hour)
        event.subject_id = campaign.id
        if hour >= 24:
            wanted.append(event)
        record("campaign.stop", reader, at)
        record("campaign.start", None, at)
    db.session.commit()

    query = {
        "user_id": reader,
        "action": "campaign.start",
        "since": (START + timedelta(hours=24)).isoformat(),
        "until": "2026-03-10",
        "limit": "10",
    }
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.get(
            "/api/v1/audit",
            query_string={**query, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert response.status_code == 200, response.json
        seen += response.json["items"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert [item["id"] for item in seen] == [e.id for e in reversed(wanted)]
    first = seen[0]
    assert first["action"] == "campaign.start"
    assert first["description"] == "Started a campaign"
    assert first["user"]["id"] == reader and "password_hash" not in first["user"]
    assert first["subject"] == {
        "type": "campaign",
        "id": campaign.id,
        "label": "Lente",
        "exists": True,
    }
    assert first["details"] == {"messages": 47}
    assert datetime.fromisoformat(first["created_at"]) == START + timedelta(hours=47)

    system = client.get(
        "/api/v1/audit?user_id=system&action=campaign.start&limit=500", headers=headers
    ).json
    assert len(system["items"]) == 48 and all(i["user"] is None for i in system["items"])

    exported = client.get(
        "/api/v1/audit/export.csv",
        query_string={k: v for k, v in query.items() if k != "limit"},
        headers=headers,
    )
    lines = list(csv.DictReader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert len(lines) == 24 and lines[0]["subject"] == "Lente"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("until=2026-02-30", "until"),
        ("since=2026-03-02T09:00", "since"),  # a time without its offset
        ("since=2026-03-05&until=2026-03-01", "until"),
        ("action=campaign.launch", "action"),
        ("user_id=../etc", "user_id"),
        ("cursor=not-a-cursor", "cursor"),
    ],
)
def test_a_bad_filter_or_cursor_is_a_422_naming_it(
    query: str, field: str, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("admin")
    response = client.get(f"/api/v1/audit?{query}", headers=headers)
    assert response.status_code == 422, query
    assert field in response.json["error"]["fields"], response.json
    if field != "cursor":
        assert client.get(f"/api/v1/audit/export.csv?{query}", headers=headers).status_code == 422
