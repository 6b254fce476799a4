"""Every error under /api/ is JSON: a URL no route matches and a method a URL does not take
included, as much as the refusals of the API's own views."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import new_app
from tests.support.services import free_port
from webapp.extensions import db

TOO_LARGE = str(65 * 1024 * 1024)  # past MAX_CONTENT_LENGTH; the body is never read


def assert_json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert "<" not in response.text
    return dict(error)


@pytest.mark.parametrize("authorized", [True, False])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/nonexistent"),
        ("POST", "/api/v1/nonexistent"),
        ("GET", "/api/v1/campaigns/x/nonexistent"),
        ("GET", "/api/v2/campaigns"),
        ("GET", "/api/"),
        ("GET", "/api"),
    ],
)
def test_a_url_no_api_route_matches_is_a_json_404(
    app: Flask, api_client: Any, authorized: bool, method: str, url: str
) -> None:
    client, headers = api_client("admin")
    response = client.open(url, method=method, headers=headers if authorized else {})
    assert_json_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("PUT", "/api/v1/domains/x/dkim", {"GET", "POST"}),
        ("DELETE", "/api/v1/domains", {"GET"}),
        ("PUT", "/api/v1/campaigns", {"GET", "POST"}),
    ],
)
def test_a_method_an_api_url_does_not_take_is_a_json_405_naming_those_it_does(
    app: Flask, api_client: Any, method: str, url: str, allowed: set[str]
) -> None:
    client, headers = api_client("admin")
    response = client.open(url, method=method, headers=headers)
    assert_json_error(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert method not in response.headers["Allow"]


def test_a_body_too_large_is_a_json_413_with_or_without_a_route(
    app: Flask, api_client: Any
) -> None:
    client, headers = api_client("admin")
    for url, content_type in (
        ("/api/v1/nonexistent", "application/x-www-form-urlencoded"),
        ("/api/v1/campaigns", "application/json"),
    ):
        response = client.post(
            url,
            data="a=b",
            content_type=content_type,
            headers=headers,
            environ_overrides={"CONTENT_LENGTH": TOO_LARGE},
        )
        assert_json_error(response, 413, "too_large")


def test_a_malformed_body_and_unusable_input_are_json_with_or_without_a_route(
    app: Flask, api_client: Any
) -> None:
    client, headers = api_client("admin")
    malformed = client.post(
        "/api/v1/campaigns", data="{", content_type="application/json", headers=headers
    )
    assert_json_error(malformed, 400, "bad_request")
    for url in ("/api/v1/nonexistent?name=a%00b", "/api/v1/campaigns?name=a%00b"):
        unusable = client.get(url, headers=headers)
        assert "name" in assert_json_error(unusable, 422, "invalid")["fields"]


@pytest.fixture
def database_down() -> Iterator[Flask]:
    """The app as in production (errors answered, not raised) with no database listening."""
    down = new_app(
        f"postgresql://postgres@127.0.0.1:{free_port()}/campaigns_test_gone", TESTING=False
    )
    yield down
    with down.app_context():
        db.engine.dispose()


def test_an_unexpected_error_under_the_api_is_a_json_500_without_details(
    database_down: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    client = database_down.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/campaigns", headers={"Authorization": "Bearer " + "x" * 32})
    error = assert_json_error(response, 500, "server_error")
    assert "campaigns_test_gone" not in response.text and "Traceback" not in response.text
    assert error["fields"] == {}
    assert "unhandled error on GET /api/v1/campaigns" in caplog.text


def test_the_pages_keep_their_html_error_pages(app: Flask, login_as: Any) -> None:
    client = login_as("admin")
    for url in ("/nonexistent", "/apiary", "/campaigns/x/nonexistent"):
        response = client.get(url)
        assert response.status_code == 404 and response.mimetype == "text/html"
    wrong = client.put("/campaigns/", headers={"X-CSRFToken": client.csrf})
    assert wrong.status_code == 405 and wrong.mimetype == "text/html"
    assert "GET" in wrong.headers["Allow"]
