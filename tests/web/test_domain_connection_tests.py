"""The connection tests on the domain page and over the API: admins only, the steps listed,
the result swapped in place, never a secret in the answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.sending_support import make_domain
from tests.support.services import SmtpCapture, free_port
from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.extensions import db

SECRET = "s3cret-smtp-password"


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpCapture]:
    server = SmtpCapture()
    server.start()
    make_domain("punthelder-seo.nl", server.port, smtp_host=server.host, smtp_password=SECRET)
    db.session.commit()
    yield server
    server.stop()


def test_api_smtp_test_lists_the_steps_and_sends_nothing(
    smtp: SmtpCapture, api_client: Any
) -> None:
    client, headers = api_client("admin")
    response = client.post("/api/v1/domains/punthelder-seo.nl/test-smtp", headers=headers)
    assert response.status_code == 200
    assert response.json["ok"] is True
    assert [(s["step"], s["ok"]) for s in response.json["steps"]] == [
        ("connect", True),
        ("tls", True),
        ("login", True),
    ]
    assert response.json["steps"][0]["detail"] == f"Connected to {smtp.host}:{smtp.port}."
    assert SECRET not in response.text
    assert smtp.messages == []


def test_api_imap_test_says_which_step_failed(app: Flask, api_client: Any) -> None:
    port = free_port()
    make_domain("punthelder-seo.nl", 2525, imap_host="127.0.0.1", imap_port=port, imap_user="in")
    db.session.commit()
    client, headers = api_client("admin")
    response = client.post("/api/v1/domains/punthelder-seo.nl/test-imap", headers=headers)
    assert response.status_code == 200
    assert response.json == {
        "ok": False,
        "steps": [
            {
                "step": "connect",
                "ok": False,
                "detail": f"Could not connect to 127.0.0.1:{port}: connection refused",
            }
        ],
    }


@pytest.mark.parametrize("role", ["marketer", "manager"])
def test_only_admins_may_run_connection_tests(
    smtp: SmtpCapture, api_client: Any, login_as: Callable[[str], FlaskClient], role: str
) -> None:
    client, headers = api_client(role)
    for kind in ("smtp", "imap"):
        response = client.post(f"/api/v1/domains/punthelder-seo.nl/test-{kind}", headers=headers)
        assert response.status_code == 403
    page_client = login_as(role)
    response = page_client.post(
        "/domains/punthelder-seo.nl/test-smtp",
        data={"csrf_token": page_client.csrf},  # type: ignore[attr-defined]
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403


def test_api_connection_test_of_an_unknown_domain_is_404(app: Flask, api_client: Any) -> None:
    client, headers = api_client("admin")
    response = client.post("/api/v1/domains/nowhere.nl/test-smtp", headers=headers)
    assert response.status_code == 404


def test_the_edit_page_offers_both_tests_and_htmx_gets_the_result_fragment(
    smtp: SmtpCapture, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    page = client.get("/domains/punthelder-seo.nl/edit").text
    assert 'id="connection-tests"' in page
    assert 'hx-post="/domains/punthelder-seo.nl/test-smtp"' in page
    assert 'hx-post="/domains/punthelder-seo.nl/test-imap"' in page

    csrf = {"csrf_token": client.csrf}  # type: ignore[attr-defined]
    fragment = client.post(
        "/domains/punthelder-seo.nl/test-smtp", data=csrf, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "SMTP works." in fragment.text
    assert f"Connected to {smtp.host}:{smtp.port}." in fragment.text
    assert SECRET not in fragment.text

    imap = client.post(
        "/domains/punthelder-seo.nl/test-imap", data=csrf, headers={"HX-Request": "true"}
    )
    assert "IMAP test failed." in imap.text
    assert "No IMAP host is set for this domain." in imap.text


def test_without_a_csrf_token_nothing_is_tried(
    smtp: SmtpCapture, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    response = client.post("/domains/punthelder-seo.nl/test-smtp", headers={"HX-Request": "true"})
    assert response.status_code == 400


def test_without_javascript_the_result_is_a_message_on_the_edit_page(
    smtp: SmtpCapture, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    smtp.stop()  # nothing answers any more
    response = client.post(
        "/domains/punthelder-seo.nl/test-smtp",
        data={"csrf_token": client.csrf},  # type: ignore[attr-defined]
        follow_redirects=True,
    )
    assert response.request.path == "/domains/punthelder-seo.nl/edit"
    assert (
        f"SMTP test failed: Could not connect to {smtp.host}:{smtp.port}: connection refused"
        in response.text
    )


def test_the_connection_tests_read_in_dutch(
    smtp: SmtpCapture, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    page = client.get("/domains/punthelder-seo.nl/edit").text
    assert "Verbindingstests" in page and "SMTP testen" in page and "IMAP testen" in page
    fragment = client.post(
        "/domains/punthelder-seo.nl/test-imap",
        data={"csrf_token": client.csrf},  # type: ignore[attr-defined]
        headers={"HX-Request": "true"},
    ).text
    assert "IMAP-test mislukt." in fragment
    assert "Voor dit domein is geen IMAP-server ingesteld." in fragment
    for name in ("_connection_tests.html", "_connection_result.html"):
        assert untranslated_in_template(ROOT / "templates" / "domains" / name) == []
