"""Going back to a page htmx no longer has in its history cache.

htmx then asks the server again with `HX-Request: true` and `HX-History-Restore-Request:
true`, and puts the answer in <body>: it must be the whole page, layout and navigation
included, or the user is left with a bare table.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.extensions import db
from webapp.models import ImportJob

HTMX = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
NAVIGATION = '<header class="container-fluid app-header">'


@pytest.fixture
def client(app: Flask, login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    noord = make_lead(email="jan@bakker-noord.nl", list_name="noord")
    make_lead(email="piet@slager-zuid.nl", list_name="zuid")
    make_campaign(name="Voorjaar noord", status="running")
    make_campaign(name="Concept zuid", status="draft")
    spring = make_campaign(name="Najaar bounces", status="running")
    make_event(
        make_message(spring, noord, status="bounced"),
        "bounced",
        meta={"status": "5.1.1", "diagnostic": "550 5.1.1 User unknown", "hard": True},
    )
    db.session.commit()
    return login_as("marketer")


# (url, its fragment's first tag, a text the query keeps, a text it filters out)
PAGES = [
    ("/leads/?list_name=noord&sort=email", "<p", "jan@bakker-noord.nl", "piet@slager-zuid.nl"),
    ("/campaigns/?status=draft", '<div id="campaigns-table"', "Concept zuid", "Voorjaar noord"),
    ("/inbox/?tab=bounces", '<section id="inbox">', "550 5.1.1 User unknown", "No bounces"),
]


@pytest.mark.parametrize(("url", "fragment_start", "kept", "left_out"), PAGES)
def test_a_history_restore_gets_the_whole_page_for_the_same_query(
    client: FlaskClient, url: str, fragment_start: str, kept: str, left_out: str
) -> None:
    restored = client.get(url, headers=RESTORE)

    assert restored.status_code == 200
    assert restored.text.lstrip().startswith("<!doctype html>")
    assert "<html" in restored.text and NAVIGATION in restored.text
    assert 'aria-current="page"' in restored.text.split("</header>")[0]
    assert kept in restored.text and left_out not in restored.text
    assert {"HX-Request", "HX-History-Restore-Request"} <= set(restored.vary)


@pytest.mark.parametrize(("url", "fragment_start", "kept", "left_out"), PAGES)
def test_a_plain_htmx_request_still_gets_the_fragment(
    client: FlaskClient, url: str, fragment_start: str, kept: str, left_out: str
) -> None:
    fragment = client.get(url, headers=HTMX)

    assert fragment.status_code == 200
    assert "<html" not in fragment.text and NAVIGATION not in fragment.text
    assert fragment.text.lstrip().startswith(fragment_start)
    assert kept in fragment.text and left_out not in fragment.text
    assert {"HX-Request", "HX-History-Restore-Request"} <= set(fragment.vary)


def test_the_import_progress_page_is_whole_when_restored(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    summary = {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "errors": []}
    job = ImportJob(list_name="beurs", filename="beurs.csv", status="done", summary=summary)
    db.session.add(job)
    db.session.commit()
    client = login_as("marketer")

    restored = client.get(f"/leads/import/{job.id}", headers=RESTORE)
    polled = client.get(f"/leads/import/{job.id}", headers=HTMX)

    assert restored.status_code == 200 and NAVIGATION in restored.text
    assert 'id="import-created">2<' in restored.text
    assert polled.status_code == 286 and NAVIGATION not in polled.text  # 286 stops polling


def test_a_restore_after_the_session_expired_gets_the_login_page(client: FlaskClient) -> None:
    """htmx ignores HX-Redirect on the 401 a restore would get; it follows a redirect."""
    anonymous = client.application.test_client()

    restored = anonymous.get("/leads/?list_name=noord", headers=RESTORE)
    swapped = anonymous.get("/leads/?list_name=noord", headers=HTMX)

    assert restored.status_code == 302
    assert restored.location.startswith("/login?next=/leads/")
    assert "HX-History-Restore-Request" in restored.vary
    assert swapped.status_code == 401 and swapped.headers["HX-Redirect"].startswith("/login")


def test_a_page_that_never_asks_does_not_vary_on_the_restore_header(
    client: FlaskClient,
) -> None:
    lead_page = client.get("/leads/lists")

    assert "HX-Request" in lead_page.vary
    assert "HX-History-Restore-Request" not in lead_page.vary


def test_a_restored_page_that_is_gone_is_an_error_page_not_a_flash_message(
    client: FlaskClient,
) -> None:
    restored = client.get("/leads/no-such-lead", headers=RESTORE)
    swapped = client.get("/leads/no-such-lead", headers=HTMX)

    assert restored.status_code == 404 and NAVIGATION in restored.text
    assert "HX-Retarget" not in restored.headers
    assert swapped.status_code == 404 and swapped.headers["HX-Retarget"] == "#flash"
