"""Fixtures: the app on a throwaway PostgreSQL database, Redis, SMTP and a browser.

The session creates one fresh database (on a running server, or a cluster it
starts itself), migrates it once, and empties every table after each test.
Nothing here touches a database it did not create.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests.support import services
from webapp import create_app
from webapp.config import normalise_database_url
from webapp.extensions import db

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def app_config(database_url: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "REDIS_URL": None,
        "PUBLIC_BASE_URL": "http://campaigns.test",
        "MAIL_BACKEND": "outbox",
        "SESSION_COOKIE_SECURE": False,
        # English, the msgids the tests read; the Dutch interface has its own tests.
        "BABEL_DEFAULT_LOCALE": "en",
        # Mail on its slot, as the timing tests expect; human timing has its own tests.
        "SEND_JITTER": False,
    }
    config.update(overrides)
    return config


def migrate(app: Flask) -> None:
    """Bring the app's database to the newest migration, as `flask db upgrade` does."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def truncate_all(app: Flask) -> None:
    """Empty every table; far faster than recreating the database between tests."""
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as connection:
            if db.engine.dialect.name == "postgresql":
                connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} CASCADE"))
            else:
                for table in tables:
                    connection.execute(sa.text(f"DELETE FROM {table}"))


# -- services ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[services.PostgresServer]:
    server = services.start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fresh_database(postgres_server: services.PostgresServer) -> Iterator[Callable[[], str]]:
    """A factory of empty PostgreSQL databases, all dropped at the end of the session."""
    created: list[str] = []

    def make() -> str:
        url = services.create_database(postgres_server.admin_url)
        created.append(url)
        return url

    yield make
    for url in created:
        services.drop_database(postgres_server.admin_url, url)


@pytest.fixture(scope="session")
def database_url(fresh_database: Callable[[], str]) -> str:
    return fresh_database()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[services.RedisServer]:
    server = services.start_redis()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[services.SmtpCapture]:
    server = services.start_smtp()
    yield server
    server.stop()


# -- the app ----------------------------------------------------------------------------


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test's app context.

    Flask reuses an app context that is already pushed, and with it `g`: a CSRF
    token or a logged-in user would leak from one request to the next. Running
    each request in an empty context gives it its own, as in production.

    Its requests ask for the app's default language: English in the tests (the msgids
    they read), Dutch in a test that uses the `dutch` fixture before making its clients.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = self.application.config["BABEL_DEFAULT_LOCALE"]

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # A streamed answer (an export) is read to its end and closed here, as a server
        # would: left open, it would hold its database transaction past the test.
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


def new_app(database_url: str, **overrides: Any) -> Flask:
    app = create_app(app_config(database_url, **overrides))
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture(scope="session")
def _session_app(database_url: str) -> Flask:
    app = new_app(database_url)
    migrate(app)
    return app


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    """The app on PostgreSQL with an app context pushed; every table emptied afterwards, and
    any setting a test changed put back (the app lives for the whole session)."""
    settings = dict(_session_app.config)
    with _session_app.app_context():
        yield _session_app
    _session_app.config.clear()
    _session_app.config.update(settings)
    truncate_all(_session_app)
    # Failed logins counted in one test must not throttle the next.
    _session_app.extensions["login_throttle"].storage.reset()


@pytest.fixture
def dutch(app: Flask) -> Iterator[None]:
    """The product's own default for this test: Dutch pages, Dutch formats."""
    app.config["BABEL_DEFAULT_LOCALE"] = "nl"
    yield
    app.config["BABEL_DEFAULT_LOCALE"] = "en"


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    """The embedded default: a migrated SQLite file database."""
    app = new_app(f"sqlite:///{tmp_path / 'campaigns.db'}")
    migrate(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- users and logins -------------------------------------------------------------------

PASSWORD = "correct horse battery"


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the real form; returns the CSRF token for later posts."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)},
    )
    assert response.status_code == 302, response.text
    return csrf_token_from(client.get("/").text)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Any]:
    from webapp.services.users import create_user

    def make(role: str = "marketer", email: str | None = None) -> Any:
        user = create_user(email or f"{role}-{os.urandom(3).hex()}@punthelder.nl", PASSWORD, role)
        db.session.commit()
        return user

    return make


@pytest.fixture
def login_as(app: Flask, make_user: Callable[..., Any]) -> Callable[[str], FlaskClient]:
    """A test client logged in with a new user of the given role (`client.csrf` is set)."""

    def login(role: str) -> FlaskClient:
        user = make_user(role)
        client = app.test_client()
        client.csrf = log_in(client, user.email)  # type: ignore[attr-defined]
        client.user = user  # type: ignore[attr-defined]
        return client

    return login


@pytest.fixture
def api_client(app: Flask, make_user: Callable[..., Any]) -> Callable[[str], Any]:
    """A factory of (client, headers) for an API user of the given role."""
    from webapp.services.users import issue_token

    def make(role: str) -> tuple[FlaskClient, dict[str, str]]:
        user = make_user(role)
        token = issue_token(user)
        db.session.commit()
        return app.test_client(), {"Authorization": f"Bearer {token}"}

    return make


# -- a live server and a browser --------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(_session_app: Flask) -> Iterator[str]:
    """The app served over real HTTP from a thread, for the browser."""
    port = services.free_port()
    server = make_server("127.0.0.1", port, _session_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = services.chromium_path()
    if executable is None:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=services.CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, app: Flask, request: pytest.FixtureRequest) -> Iterator[Any]:
    # English, the msgids the tests read, unless a test asks for another browser language
    # (`@pytest.mark.parametrize("page", ["nl-NL"], indirect=True)`).
    locale = getattr(request, "param", "en-US")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Every browser test also proves the pages work under the Content-Security-Policy:
    # anything the policy refused (an inline script or handler, eval, a style) fails it.
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert refused == [], "the Content-Security-Policy refused something"


# -- a real DNS server ------------------------------------------------------------------


@pytest.fixture(scope="session")
def _dns_server() -> Iterator[Any]:
    from tests.support.dns import DnsServer

    server = DnsServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dns_server(app: Flask, _dns_server: Any) -> Iterator[Any]:
    """An authoritative server with empty zones that the app's DNS_RESOLVER points at."""
    _dns_server.set_zone("")
    previous = app.config.get("DNS_RESOLVER")
    app.config["DNS_RESOLVER"] = _dns_server.address
    yield _dns_server
    app.config["DNS_RESOLVER"] = previous
    _dns_server.set_zone("")
