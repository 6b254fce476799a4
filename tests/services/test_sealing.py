"""Domain secrets are sealed in the database, open with the current or a fallback key,
survive a key rotation through `domains reseal`, and read as unset (never as an error)
when no key opens them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import new_app
from tests.sending_support import make_domain
from tests.support.two_factor import enrol
from webapp.extensions import db
from webapp.models import SendingDomain, User
from webapp.sealing import PREFIX
from webapp.services.domains import domain_to_dict, get_domain

SECRETS = {
    "smtp_password": "smtp-hunter2",
    "imap_password": "imap-correct-horse",
    "dkim_private_key": "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n",
}
NAME = "punthelder-seo.nl"
OLD_KEY = "test-secret-key-not-for-production"  # the suite's SECRET_KEY (tests/conftest.py)
NEW_KEY = "the-next-secret-key"


def stored() -> dict[str, Any]:
    """The secret columns as the database holds them."""
    row = db.session.execute(
        sa.text(
            "SELECT smtp_password, imap_password, dkim_private_key FROM sending_domains"
            " WHERE name = :name"
        ),
        {"name": NAME},
    ).one()
    return dict(row._mapping)


def read_with(database_url: str, **keys: Any) -> dict[str, Any]:
    """The secrets as another app, configured with `keys`, reads them."""
    other = new_app(database_url, **keys)
    try:
        with other.app_context():
            domain = get_domain(NAME)
            assert domain is not None
            return {field: getattr(domain, field) for field in SECRETS}
    finally:
        with other.app_context():
            db.engine.dispose()


def reseal_with(database_url: str, **keys: Any) -> str:
    other = new_app(database_url, **keys)
    try:
        # Its own context: the command would otherwise run in the test's app, whose is active.
        with other.app_context():
            result = other.test_cli_runner().invoke(args=["domains", "reseal"])
        assert result.exit_code == 0, result.output
        return result.output
    finally:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def domain(app: Flask) -> Iterator[SendingDomain]:
    made = make_domain(NAME, 2525, **SECRETS)
    db.session.commit()
    yield made


def test_secrets_are_sealed_in_the_database_and_open_in_the_app(domain: SendingDomain) -> None:
    for field, raw in stored().items():
        assert raw.startswith(PREFIX), field
        assert SECRETS[field] not in raw
        assert SECRETS[field].split("\n")[0] not in raw
    db.session.expire_all()
    assert {field: getattr(domain, field) for field in SECRETS} == SECRETS
    # Sealing is randomised: the same password twice is stored as two different values.
    domain.imap_password = SECRETS["smtp_password"]
    db.session.commit()
    assert stored()["imap_password"] != stored()["smtp_password"]


def test_a_new_secret_key_rolls_out_with_the_old_one_as_fallback_then_reseals(
    domain: SendingDomain, database_url: str
) -> None:
    rolling = {"SECRET_KEY": NEW_KEY, "SECRET_KEY_FALLBACKS": [OLD_KEY]}
    assert read_with(database_url, **rolling) == SECRETS
    assert "sealed 3 secret(s)" in reseal_with(database_url, **rolling)
    # Sealed under the new key now: it opens without the fallback, and the old key is done.
    assert read_with(database_url, SECRET_KEY=NEW_KEY) == SECRETS
    assert read_with(database_url, SECRET_KEY=OLD_KEY) == dict.fromkeys(SECRETS)


def test_two_factor_keys_roll_over_to_a_new_secret_key_with_the_domains(
    app: Flask, database_url: str, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    secret, _codes = enrol(user)
    rolling = {"SECRET_KEY": NEW_KEY, "SECRET_KEY_FALLBACKS": [OLD_KEY]}
    assert "(1 two-factor keys)" in reseal_with(database_url, **rolling)
    for key, expected in ((NEW_KEY, secret), (OLD_KEY, None)):
        other = new_app(database_url, SECRET_KEY=key)
        try:
            with other.app_context():
                assert db.session.get(User, user.id).totp_secret == expected  # type: ignore[union-attr]
        finally:
            with other.app_context():
                db.engine.dispose()


def test_secrets_no_key_opens_read_as_unset_and_the_domain_still_shows(
    domain: SendingDomain, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = new_app(database_url, SECRET_KEY="a-key-nobody-kept")
    try:
        with other.app_context():
            found = get_domain(NAME)
            assert found is not None
            shown = domain_to_dict(found)
            assert (shown["smtp_password_set"], shown["imap_password_set"]) == (False, False)
    finally:
        with other.app_context():
            db.engine.dispose()
    assert "opens with neither SECRET_KEY nor SECRET_KEY_FALLBACKS" in caplog.text


def test_a_secret_stored_before_sealing_reads_as_it_is_and_reseal_seals_it(
    domain: SendingDomain, database_url: str
) -> None:
    db.session.execute(
        sa.text("UPDATE sending_domains SET smtp_password = 'plain-old' WHERE name = :name"),
        {"name": NAME},
    )
    db.session.commit()
    db.session.expire_all()
    assert domain.smtp_password == "plain-old"
    reseal_with(database_url)
    db.session.expire_all()
    assert stored()["smtp_password"].startswith(PREFIX)
    assert domain.smtp_password == "plain-old"


def test_secrets_are_sealed_on_sqlite_too(sqlite_app: Flask) -> None:
    make_domain(NAME, 2525, **SECRETS)
    db.session.commit()
    assert all(raw.startswith(PREFIX) for raw in stored().values())
    db.session.expire_all()
    found = get_domain(NAME)
    assert found is not None and found.smtp_password == SECRETS["smtp_password"]
