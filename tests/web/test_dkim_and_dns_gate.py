"""DKIM keys over the API and the domain page, and the start gate on SPF, DKIM and DMARC,
against a real DNS server (tests/support/dns.py)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import dkim
import dns.resolver
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask

from tests.factories import make_lead, make_template
from tests.sending_support import make_domain, make_running_campaign
from tests.support.dns import txt_record
from tests.support.services import SmtpCapture
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, Campaign, SendingDomain
from webapp.services.campaigns import create_campaign
from webapp.services.sending import dispatch_once, send_claimed_message

DOMAIN = "punthelder-seo.nl"


def pem(key: Any, fmt: Any = serialization.PrivateFormat.PKCS8) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


@pytest.fixture
def admin_api(api_client: Callable[[str], Any]) -> Callable[..., Any]:
    client, headers = api_client("admin")

    def call(method: str, url: str, **kwargs: Any) -> Any:
        return client.open(f"/api/v1{url}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def domain(app: Flask) -> SendingDomain:
    domain = make_domain(DOMAIN, 25)
    db.session.commit()
    return domain


def test_generating_a_key_answers_the_record_and_never_the_private_key(
    admin_api: Any, domain: SendingDomain
) -> None:
    response = admin_api("POST", f"/domains/{DOMAIN}/dkim")
    assert response.status_code == 201
    body = response.json
    assert re.fullmatch(r"cd20\d{12}", body["selector"])  # cd + yyyymmddHHMMSS
    assert body["dns_name"] == f"{body['selector']}._domainkey.{DOMAIN}"
    assert body["txt"].startswith("v=DKIM1; k=rsa; p=MIIBIjAN")  # 2048-bit SPKI
    assert "".join(body["txt_strings"]) == body["txt"]
    assert all(len(part) <= 255 for part in body["txt_strings"])
    assert body["state"] == "active"
    db.session.refresh(domain)
    key = serialization.load_pem_private_key(domain.dkim_private_key.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    shown = (
        admin_api("GET", f"/domains/{DOMAIN}").text
        + admin_api("GET", f"/domains/{DOMAIN}/dkim").text
    )
    assert "PRIVATE KEY" not in shown
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "domain.dkim_generated")
    ).one()
    assert event.details == {"name": DOMAIN, "selector": body["selector"], "state": "active"}


@pytest.mark.parametrize(
    ("case", "key", "field"),
    [
        ("short RSA", "short", "private_key"),
        ("EC", pem(ec.generate_private_key(ec.SECP256R1())), "private_key"),
        ("not PEM", "hello", "private_key"),
        ("over 4096 bits", pem(rsa.generate_private_key(65537, 4160)), "private_key"),
        (
            "two keys",
            pem(rsa.generate_private_key(65537, 2048)) + pem(rsa.generate_private_key(65537, 2048)),
            "private_key",
        ),
    ],
)
def test_importing_a_key_that_is_not_rsa_of_1024_bits_is_refused(
    admin_api: Any, domain: SendingDomain, case: str, key: str, field: str
) -> None:
    if key == "short":  # cryptography makes no key under 1024 bits; openssl does
        key = subprocess.run(
            ["openssl", "genrsa", "768"], capture_output=True, check=True, text=True
        ).stdout
    response = admin_api(
        "POST", f"/domains/{DOMAIN}/dkim/import", json={"selector": "s1", "private_key": key}
    )
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    db.session.refresh(domain)
    assert domain.dkim_private_key is None


def test_importing_the_active_key_again_is_no_rotation(
    admin_api: Any, domain: SendingDomain
) -> None:
    key = pem(rsa.generate_private_key(65537, 2048))
    first = admin_api(
        "POST", f"/domains/{DOMAIN}/dkim/import", json={"selector": "s1", "private_key": key}
    )
    assert first.status_code == 201 and "warnings" not in first.json
    again = admin_api(
        "POST", f"/domains/{DOMAIN}/dkim/import", json={"selector": "s2", "private_key": key}
    )
    assert again.status_code == 422
    assert set(again.json["error"]["fields"]) == {"private_key"}
    assert "signs with already" in again.json["error"]["fields"]["private_key"]
    db.session.refresh(domain)
    assert domain.dkim_pending_selector is None


def test_a_key_under_2048_bits_is_taken_with_a_warning(
    admin_api: Any, domain: SendingDomain
) -> None:
    key = pem(rsa.generate_private_key(65537, 1024))
    response = admin_api(
        "POST", f"/domains/{DOMAIN}/dkim/import", json={"selector": "s1", "private_key": key}
    )
    assert response.status_code == 201
    assert response.json["state"] == "active"
    assert any("2048 bits are recommended" in w for w in response.json["warnings"])


def test_a_selector_used_before_on_the_domain_cannot_be_imported_again(
    admin_api: Any, domain: SendingDomain
) -> None:
    first = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    pending = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    replacing = admin_api(
        "POST",
        f"/domains/{DOMAIN}/dkim/import",
        json={
            "selector": pending["selector"],
            "private_key": pem(rsa.generate_private_key(65537, 2048)),
        },
    )
    assert replacing.status_code == 422
    assert set(replacing.json["error"]["fields"]) == {"selector"}
    assert first["selector"] != pending["selector"]


def test_generating_while_a_key_is_pending_says_which_key_it_replaces(
    admin_api: Any, domain: SendingDomain, login_as: Callable[[str], Any]
) -> None:
    active = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    assert "replaced_pending" not in active
    pending = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    assert pending["state"] == "pending" and "replaced_pending" not in pending
    newer = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    assert newer["replaced_pending"] == pending["selector"]
    assert len({active["selector"], pending["selector"], newer["selector"]}) == 3
    event = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "domain.dkim_generated")
        .order_by(AuditEvent.created_at.desc())
        .limit(1)
    ).one()
    assert event.details["replaced_pending"] == pending["selector"]

    page = login_as("admin").get(f"/domains/{DOMAIN}/edit").text
    assert "hx-confirm=" in page and f"waiting under {newer['selector']} is replaced" in page


def test_the_first_key_says_mail_fails_dkim_until_its_record_is_published(
    domain: SendingDomain, login_as: Callable[[str], Any]
) -> None:
    admin = login_as("admin")
    htmx = {"HX-Request": "true", "X-CSRFToken": admin.csrf}
    fragment = admin.post(f"/domains/{DOMAIN}/dkim/generate", headers=htmx).text
    assert "fails DKIM" in fragment
    assert "hx-confirm=" not in fragment  # nothing pending to replace


def test_a_bad_selector_is_refused(admin_api: Any, domain: SendingDomain) -> None:
    key = pem(rsa.generate_private_key(65537, 1024))
    response = admin_api(
        "POST", f"/domains/{DOMAIN}/dkim/import", json={"selector": "-x_", "private_key": key}
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"selector"}


def test_marketers_and_managers_cannot_touch_keys(
    api_client: Callable[[str], Any], domain: SendingDomain
) -> None:
    for role in ("marketer", "manager"):
        client, headers = api_client(role)
        assert client.post(f"/api/v1/domains/{DOMAIN}/dkim", headers=headers).status_code == 403


def dnsfunc(dns_server: Any) -> Callable[..., bytes]:
    """dkimpy's look-up, through dnspython, at the test's DNS server."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = dns_server.port

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        try:
            answer = resolver.resolve(name.decode().rstrip("."), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return b""
        return b"".join(answer[0].strings)

    return lookup


@pytest.fixture
def smtp_app(app: Flask, smtp_server: SmtpCapture) -> Iterator[Flask]:
    app.config["MAIL_BACKEND"] = "smtp"
    yield app
    app.config["MAIL_BACKEND"] = "outbox"


def send_one() -> None:
    result = dispatch_once(utcnow(), enqueue=False)
    for message_id, token in result.claimed:
        assert send_claimed_message(message_id, token) == "sent"
    db.session.execute(sa.update(SendingDomain).values(last_sent_at=None))
    db.session.commit()


def test_mail_signed_with_an_imported_key_and_then_a_rotated_one_verifies_against_the_dns(
    smtp_app: Flask, smtp_server: SmtpCapture, dns_server: Any, admin_api: Any
) -> None:
    domain = make_domain(DOMAIN, smtp_server.port)
    _campaign, _leads, _messages = make_running_campaign([domain], leads=2)
    key = pem(rsa.generate_private_key(65537, 2048), serialization.PrivateFormat.PKCS8)
    imported = admin_api(
        "POST", f"/domains/{DOMAIN}/dkim/import", json={"selector": "s2024", "private_key": key}
    ).json
    assert imported["state"] == "active"
    dns_server.add(txt_record(imported["dns_name"], imported["txt"]))

    send_one()
    (first,) = smtp_server.wait_for(1)
    assert b"s=s2024" in first.data
    assert dkim.verify(first.data, dnsfunc=dnsfunc(dns_server))

    rotated = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    assert rotated["state"] == "pending"
    refused = admin_api("POST", f"/domains/{DOMAIN}/dkim/activate")
    assert refused.status_code == 409  # not published yet: signing stays on s2024
    db.session.refresh(domain)
    assert domain.dkim_selector == "s2024"

    dns_server.add(txt_record(rotated["dns_name"], rotated["txt"]))
    activated = admin_api("POST", f"/domains/{DOMAIN}/dkim/activate")
    assert activated.status_code == 200
    assert activated.json["selector"] == rotated["selector"]
    send_one()
    second = smtp_server.wait_for(2)[1]
    assert f"s={rotated['selector']}".encode() in second.data
    assert dkim.verify(second.data, dnsfunc=dnsfunc(dns_server))
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "domain.dkim_activated")
    ).one()
    assert event.details["previous_selector"] == "s2024"


# -- the start gate -----------------------------------------------------------------------


def draft_campaign() -> Campaign:
    make_lead(list_name="mkb")
    campaign = create_campaign(
        {
            "name": "Voorjaar",
            "template_id": make_template().id,
            "audience": {"list_names": ["mkb"]},
            "domains": [DOMAIN],
        },
        None,
        utcnow(),
    )
    db.session.commit()
    return campaign


@pytest.fixture
def gated(app: Flask, dns_server: Any) -> Iterator[None]:
    app.config["REQUIRE_DNS_CHECKS"] = True
    yield
    app.config["REQUIRE_DNS_CHECKS"] = None


def test_a_start_on_a_domain_never_checked_and_without_dns_is_refused(
    gated: None, domain: SendingDomain, api_client: Callable[[str], Any]
) -> None:
    campaign = draft_campaign()
    client, headers = api_client("marketer")
    response = client.post(f"/api/v1/campaigns/{campaign.id}/start", headers=headers)
    assert response.status_code == 409, response.json
    assert response.json["error"]["code"] == "dns_checks_failed"
    assert response.json["error"]["fields"] == {DOMAIN: "spf, dkim, dmarc"}
    db.session.refresh(domain)
    assert domain.dns_checked_at is not None  # the checks run at the start are kept
    db.session.refresh(campaign)
    assert campaign.status == "draft"

    overriding = client.post(
        f"/api/v1/campaigns/{campaign.id}/start", headers=headers, json={"override_dns": True}
    )
    assert overriding.status_code == 403


def test_an_admin_override_starts_and_is_audited(
    gated: None, domain: SendingDomain, admin_api: Any
) -> None:
    campaign = draft_campaign()
    response = admin_api("POST", f"/campaigns/{campaign.id}/start", json={"override_dns": True})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "running"
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "campaign.dns_override")
    ).one()
    assert event.subject_id == campaign.id
    assert event.details["domains"] == {DOMAIN: ["spf", "dkim", "dmarc"]}


def test_a_domain_passing_spf_dkim_and_dmarc_starts(
    gated: None, dns_server: Any, domain: SendingDomain, admin_api: Any
) -> None:
    record = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    dns_server.set_zone(
        txt_record(DOMAIN, f"v=spf1 ip4:{domain.smtp_host} -all")
        + "\n"
        + txt_record(f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject")
        + "\n"
        + txt_record(record["dns_name"], record["txt"])
    )
    checks = admin_api("POST", f"/domains/{DOMAIN}/checks").json["checks"]
    assert {c["name"]: c["status"] for c in checks if c["name"] in ("spf", "dkim", "dmarc")} == {
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "pass",
    }
    campaign = draft_campaign()
    response = admin_api("POST", f"/campaigns/{campaign.id}/start")
    assert response.status_code == 200, response.json


def test_the_page_offers_an_admin_the_override_and_refuses_a_marketer(
    gated: None, domain: SendingDomain, login_as: Callable[[str], Any]
) -> None:
    campaign = draft_campaign()
    marketer = login_as("marketer")
    refused = marketer.post(
        f"/campaigns/{campaign.id}/start", data={"csrf_token": marketer.csrf}, follow_redirects=True
    )
    assert "fails checks a start needs" in refused.text
    assert 'id="dns-override-form"' not in refused.text
    forced = marketer.post(
        f"/campaigns/{campaign.id}/start", data={"csrf_token": marketer.csrf, "override_dns": "1"}
    )
    assert forced.status_code == 403

    admin = login_as("admin")
    page = admin.post(f"/campaigns/{campaign.id}/start", data={"csrf_token": admin.csrf})
    assert page.status_code == 409
    assert 'id="dns-override-form"' in page.text and DOMAIN in page.text
    started = admin.post(
        f"/campaigns/{campaign.id}/start",
        data={"csrf_token": admin.csrf, "override_dns": "1", "confirm": "on"},
    )
    assert started.status_code == 303
    db.session.refresh(campaign)
    assert campaign.status == "running"


def test_the_outbox_is_not_gated(app: Flask, domain: SendingDomain, admin_api: Any) -> None:
    campaign = draft_campaign()
    assert admin_api("POST", f"/campaigns/{campaign.id}/start").status_code == 200


def test_the_domain_page_generates_a_key_and_checks_with_htmx(
    dns_server: Any, domain: SendingDomain, login_as: Callable[[str], Any]
) -> None:
    admin = login_as("admin")
    htmx = {"HX-Request": "true", "X-CSRFToken": admin.csrf}
    page = admin.get(f"/domains/{DOMAIN}/edit")
    assert 'id="domain-dkim"' in page.text and 'id="domain-dns-checks"' in page.text
    fragment = admin.post(f"/domains/{DOMAIN}/dkim/generate", headers=htmx)
    assert fragment.status_code == 200
    assert "._domainkey." + DOMAIN in fragment.text and "PRIVATE KEY" not in fragment.text
    checks = admin.post(f"/domains/{DOMAIN}/checks", headers=htmx)
    assert 'id="dns-check-dkim" data-status="fail"' in checks.text
    no_csrf = admin.post(f"/domains/{DOMAIN}/checks", headers={"HX-Request": "true"})
    assert no_csrf.status_code == 400
    marketer = login_as("marketer")
    assert (
        marketer.post(
            f"/domains/{DOMAIN}/dkim/generate",
            headers={"HX-Request": "true", "X-CSRFToken": marketer.csrf},
        ).status_code
        == 403
    )


def test_a_domain_missing_from_the_dns_is_said_once_on_the_page_and_in_the_api(
    dns_server: Any, domain: SendingDomain, login_as: Callable[[str], Any], admin_api: Any
) -> None:
    admin = login_as("admin")
    htmx = {"HX-Request": "true", "X-CSRFToken": admin.csrf}
    fragment = admin.post(f"/domains/{DOMAIN}/checks", headers=htmx).text
    assert 'id="dns-checks-notice"' in fragment
    assert fragment.count("does not exist in the DNS (NXDOMAIN), so no record") == 1
    assert "publishes no SPF record" not in fragment
    answer = admin_api("POST", f"/domains/{DOMAIN}/checks").json
    assert "is registered" in answer["notice"]["fix"]
    assert {c["name"]: c["status"] for c in answer["checks"]}["spf"] == "fail"


def test_reading_the_checks_never_runs_them_and_every_role_reads_checks_and_dkim(
    dns_server: Any, domain: SendingDomain, admin_api: Any, api_client: Callable[[str], Any]
) -> None:
    record = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    for role in ("manager", "marketer"):
        client, headers = api_client(role)
        never = client.get(f"/api/v1/domains/{DOMAIN}/checks?refresh=1", headers=headers)
        assert never.status_code == 200
        assert never.json["checks"] == [] and never.json["checked_at"] is None
        keys = client.get(f"/api/v1/domains/{DOMAIN}/dkim", headers=headers)
        assert keys.status_code == 200
        assert keys.json["keys"][0]["txt"] == record["txt"]
        assert "PRIVATE" not in keys.text
        assert client.post(f"/api/v1/domains/{DOMAIN}/checks", headers=headers).status_code == 403
    db.session.refresh(domain)
    assert domain.dns_checked_at is None  # no GET ran them
    admin_api("POST", f"/domains/{DOMAIN}/checks")
    client, headers = api_client("manager")
    kept = client.get(f"/api/v1/domains/{DOMAIN}/checks", headers=headers).json
    assert kept["checked_at"] is not None
    assert {c["name"]: c["status"] for c in kept["checks"]}["dkim"] == "fail"


def test_the_domains_list_opens_the_failing_checks_for_a_manager(
    dns_server: Any, domain: SendingDomain, admin_api: Any, login_as: Callable[[str], Any]
) -> None:
    record = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    dns_server.set_zone(f"{DOMAIN}. 60 IN NS ns1.punthelder-mail.nl.")
    admin_api("POST", f"/domains/{DOMAIN}/checks")
    page = login_as("manager").get("/domains/")
    assert page.status_code == 200
    assert f'id="dns-findings-{domain.label}"' in page.text
    assert 'data-check="dkim" data-status="fail"' in page.text
    assert "No DKIM record is published" in page.text and record["txt"] in page.text
    assert "PRIVATE KEY" not in page.text


def test_a_failing_tracking_host_blocks_the_start_and_an_admin_may_override(
    gated: None, dns_server: Any, domain: SendingDomain, admin_api: Any
) -> None:
    record = admin_api("POST", f"/domains/{DOMAIN}/dkim").json
    domain.tracking_host = f"t.{DOMAIN}"
    db.session.commit()
    dns_server.set_zone(
        txt_record(DOMAIN, f"v=spf1 ip4:{domain.smtp_host} -all")
        + "\n"
        + txt_record(f"_dmarc.{DOMAIN}", "v=DMARC1; p=reject")
        + "\n"
        + txt_record(record["dns_name"], record["txt"])
    )
    checks = admin_api("POST", f"/domains/{DOMAIN}/checks").json["checks"]
    statuses = {c["name"]: c["status"] for c in checks}
    assert statuses["spf"] == statuses["dkim"] == statuses["dmarc"] == "pass"
    assert statuses["tracking_host"] == "fail"
    campaign = draft_campaign()
    refused = admin_api("POST", f"/campaigns/{campaign.id}/start")
    assert refused.status_code == 409
    assert refused.json["error"]["fields"] == {DOMAIN: "tracking_host"}
    started = admin_api("POST", f"/campaigns/{campaign.id}/start", json={"override_dns": True})
    assert started.status_code == 200, started.json
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "campaign.dns_override")
    ).one()
    assert event.details["domains"] == {DOMAIN: ["tracking_host"]}


def test_the_dry_run_warns_a_marketer_of_failing_dns_on_any_backend(
    app: Flask,
    dns_server: Any,
    domain: SendingDomain,
    admin_api: Any,
    api_client: Callable[[str], Any],
    login_as: Callable[[str], Any],
) -> None:
    assert app.config["MAIL_BACKEND"] == "outbox"
    domain.tracking_host = f"t.{DOMAIN}"
    db.session.commit()
    campaign = draft_campaign()
    # A start a week ahead: a kept report whose first slot has come is made again, and a
    # draft starting now has its first slot at once inside the window.
    campaign.start_at = utcnow() + timedelta(days=7)
    db.session.commit()
    client, headers = api_client("marketer")
    before = client.get(f"/api/v1/campaigns/{campaign.id}/dry-run", headers=headers).json
    assert not [w for w in before["warnings"] if w["code"] == "dns_checks_failing"]

    admin_api("POST", f"/domains/{DOMAIN}/checks")  # an empty zone: every check fails
    report = client.get(f"/api/v1/campaigns/{campaign.id}/dry-run", headers=headers).json
    (warning,) = [w for w in report["warnings"] if w["code"] == "dns_checks_failing"]
    assert warning["domain"] == DOMAIN
    assert {"spf", "dkim", "dmarc", "tracking_host"} <= set(warning["checks"])
    assert "unsubscribe links in its mail lead nowhere" in warning["message"]

    page = login_as("marketer").get(f"/planning/campaigns/{campaign.id}/dry-run")
    assert 'data-code="dns_checks_failing"' in page.text and DOMAIN in page.text
