"""Access holds on every route: logins, roles, CSRF, the public exceptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from webapp.extensions import db
from webapp.security import ACTIONS, PUBLIC_BLUEPRINTS, PUBLIC_ENDPOINTS, READ_ONLY_WRITES, can
from webapp.services.domains import seed_default_domains

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def concrete_url(rule: Any) -> str:
    """A URL for the rule, with a dummy value for each variable part (a number where the
    part must be one, or the URL would match no route and prove nothing)."""
    url = re.sub(r"<int:[^<>]+>", "1", rule.rule)
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "no-such-thing", url)


def rules(app: Flask, *, api: bool, methods: tuple[str, ...]) -> Iterator[tuple[str, str, str]]:
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0] if "." in rule.endpoint else ""
        if rule.endpoint in PUBLIC_ENDPOINTS or blueprint in PUBLIC_BLUEPRINTS:
            continue
        if (blueprint == "api") != api:
            continue
        for method in sorted(set(rule.methods or ()) & set(methods)):
            yield rule.endpoint, method, concrete_url(rule)


def test_the_route_lists_are_not_empty(app: Flask) -> None:
    assert len(list(rules(app, api=False, methods=("GET",)))) >= 3
    assert len(list(rules(app, api=False, methods=WRITE_METHODS))) >= 2
    assert len(list(rules(app, api=True, methods=("GET",)))) >= 2
    assert len(list(rules(app, api=True, methods=WRITE_METHODS))) >= 1


def test_anonymous_page_requests_redirect_to_login(app: Flask, client: FlaskClient) -> None:
    for endpoint, method, url in rules(app, api=False, methods=("GET", *WRITE_METHODS)):
        response = client.open(url, method=method)
        if method == "GET":
            assert response.status_code == 302, endpoint
            assert response.location.startswith("/login?next="), endpoint
        else:
            # No CSRF token either: refused before anything else happens.
            assert response.status_code in (302, 400), endpoint


def test_anonymous_htmx_requests_are_sent_to_login_as_a_whole_page(client: FlaskClient) -> None:
    response = client.get("/domains/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")


def test_anonymous_api_requests_get_401(app: Flask, client: FlaskClient) -> None:
    for endpoint, method, url in rules(app, api=True, methods=("GET", *WRITE_METHODS)):
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, endpoint
        assert response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("token", ["", "Bearer", "Bearer nonsense", "Basic YWRtaW46YWRtaW4="])
def test_bad_api_credentials_get_401(client: FlaskClient, token: str) -> None:
    response = client.get("/api/v1/domains", headers={"Authorization": token})
    assert response.status_code == 401


def test_a_session_cookie_does_not_authenticate_the_api(
    login_as: Callable[[str], FlaskClient],
) -> None:
    # Only bearer tokens: otherwise a cross-site form could write through the API.
    client = login_as("admin")
    assert client.get("/api/v1/domains").status_code == 401


def test_a_manager_gets_403_on_every_page_write(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("manager")
    checked = 0
    for endpoint, method, url in rules(app, api=False, methods=WRITE_METHODS):
        if endpoint in READ_ONLY_WRITES:
            continue
        response = client.open(
            url, method=method, data={"csrf_token": client.csrf}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 403, endpoint
        checked += 1
    assert checked >= 1


def test_a_manager_gets_403_on_every_api_write(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("manager")
    checked = 0
    for endpoint, method, url in rules(app, api=True, methods=WRITE_METHODS):
        if endpoint in READ_ONLY_WRITES:
            continue  # their own API tokens
        response = client.open(url, method=method, json={}, headers=headers)
        assert response.status_code == 403, endpoint
        assert response.json["error"]["code"] == "forbidden"
        checked += 1
    assert checked >= 1


def required_roles(app: Flask, endpoint: str) -> frozenset[str] | None:
    """Who may open the endpoint's page at all (None: whoever is logged in)."""
    return getattr(app.view_functions[endpoint], "required_roles", None)


def test_a_manager_can_read_every_page_but_not_the_pages_that_only_write(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("manager")
    refused = []
    for endpoint, _method, url in rules(app, api=False, methods=("GET",)):
        roles = required_roles(app, endpoint)
        if roles is not None and "manager" not in roles:
            # Refused before anything is looked up, so a made-up id does as well.
            response = client.get(url)
            assert response.status_code == 403, endpoint
            assert "Not allowed" in response.text, endpoint
            refused.append(endpoint)
        elif "no-such-thing" not in url:
            assert client.get(url).status_code == 200, endpoint
    assert {
        "leads.import_page",
        "campaigns.new",
        "campaigns.edit",
        "templates.new",
        "domains.edit",
        "team.index",
    } <= set(refused)


def test_the_403_page_has_the_layout_says_what_the_role_can_do_and_links_back(
    login_as: Callable[[str], FlaskClient],
) -> None:
    response = login_as("manager").get("/leads/import")
    assert response.status_code == 403
    page = response.text
    assert "<title>Not allowed · Punthelder Campaigns</title>" in page
    assert "<h1>403 · Not allowed</h1>" in page
    assert 'class="container-fluid app-header"' in page and 'href="/leads/"' in page
    assert "As a manager you can read everything here" in page
    assert 'href="/">Back to the start</a>' in page
    assert "permission to access the requested resource" not in page  # werkzeug's words


def test_a_marketer_on_an_admin_page_is_told_what_a_marketer_can_do(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    seed_default_domains()
    db.session.commit()
    client = login_as("marketer")
    assert "/domains/punthelder-seo.nl/edit" not in client.get("/domains/").text
    response = client.get("/domains/punthelder-seo.nl/edit")
    assert response.status_code == 403
    assert "<h1>403 · Not allowed</h1>" in response.text
    assert "As a marketer you can import leads" in response.text
    assert 'class="container-fluid app-header"' in response.text


def test_a_refused_htmx_request_gets_the_message_in_the_flash_area(
    login_as: Callable[[str], FlaskClient],
) -> None:
    client = login_as("manager")
    response = client.post(
        "/suppressions/",
        data={"csrf_token": client.csrf, "kind": "email", "value": "jan@bedrijf.nl"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#flash"
    assert "<strong>Not allowed.</strong> As a manager" in response.text
    assert "<html" not in response.text


def test_a_refused_api_call_keeps_its_json_403(api_client: Callable[[str], Any]) -> None:
    client, headers = api_client("manager")
    response = client.post("/api/v1/suppressions", json={"email": "a@b.nl"}, headers=headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_what_each_role_can_do(app: Flask, make_user: Callable[..., Any]) -> None:
    admin, marketer, manager = (make_user(role) for role in ("admin", "marketer", "manager"))
    assert all(can(action, admin) for action in ACTIONS)
    assert not any(can(action, manager) for action in ACTIONS)
    assert {action for action in ACTIONS if not can(action, marketer)} == {
        "unsuppress",
        "edit_domains",
        "manage_users",
    }
    with pytest.raises(KeyError):
        can("edit_everything", admin)


def test_a_form_post_without_csrf_token_gets_400(login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("admin")
    response = client.post("/logout")
    assert response.status_code == 400
    # still logged in: nothing happened
    assert client.get("/").status_code == 200


def test_an_htmx_post_without_csrf_token_gets_400(login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("admin")
    response = client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#flash"


def test_an_htmx_post_with_the_csrf_header_passes(login_as: Callable[[str], FlaskClient]) -> None:
    client = login_as("marketer")
    response = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": client.csrf})
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # logged out


def test_login_rejects_a_wrong_password_and_never_redirects_off_site(
    client: FlaskClient, make_user: Callable[..., Any]
) -> None:
    from tests.conftest import PASSWORD, csrf_token_from

    user = make_user("marketer")
    token = csrf_token_from(client.get("/login").text)
    wrong = client.post(
        "/login", data={"email": user.email, "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "wrong password" in wrong.text
    right = client.post(
        "/login",
        data={
            "email": user.email.upper(),
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/steal",
        },
    )
    assert right.status_code == 302
    assert right.location == "/"


def test_session_cookie_is_httponly_and_samesite(client: FlaskClient, make_user: Any) -> None:
    from tests.conftest import log_in

    log_in(client, make_user("marketer").email)
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"
