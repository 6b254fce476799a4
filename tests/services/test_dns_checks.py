"""The DNS preflight against a real authoritative server (tests/support/dns.py): each check
with zones that pass and zones that fail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.sending_support import make_domain
from tests.support.dns import txt_record
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.deliverability import (
    check_domain,
    checks_notice,
    daily_checks,
    dkim_records,
    generate_dkim_key,
    present_checks,
    rotate_dkim_key,
)
from webapp.services.deliverability.dkim import promote_pending_key

DOMAIN = "punthelder-seo.nl"
SMTP_HOST = "smtp.punthelder-mail.nl"
SMTP_IP = "192.0.2.10"

# The domain is delegated (it exists in the DNS), with no other record of its own.
APEX = f"{DOMAIN}. 60 IN NS ns1.punthelder-mail.nl.\n"
SMTP_HOST_ZONE = (
    APEX
    + f"""
{SMTP_HOST}. 60 IN A {SMTP_IP}
10.2.0.192.in-addr.arpa. 60 IN PTR {SMTP_HOST}.
"""
)
GOOD_ZONE = (
    SMTP_HOST_ZONE
    + txt_record(DOMAIN, f"v=spf1 ip4:{SMTP_IP} -all")
    + "\n"
    + txt_record(f"_dmarc.{DOMAIN}", "v=DMARC1; p=quarantine; adkim=s; aspf=r")
    + f"\n{DOMAIN}. 60 IN MX 10 mx.{DOMAIN}.\n"
)


@pytest.fixture
def domain(app: Flask) -> Any:
    domain = make_domain(DOMAIN, 25, smtp_host=SMTP_HOST)
    db.session.commit()
    return domain


def checks_of(domain: Any) -> dict[str, dict[str, str]]:
    check_domain(domain, utcnow())
    db.session.commit()
    return {c["name"]: c for c in present_checks(domain.dns_checks)}


def publish_dkim(dns_server: Any, domain: Any, state: str = "active") -> None:
    record = next(r for r in dkim_records(domain) if r.state == state)
    dns_server.add(txt_record(record.dns_name, record.txt))


def test_a_domain_with_every_record_passes_every_check(dns_server: Any, domain: Any) -> None:
    generate_dkim_key(domain, None, utcnow())
    dns_server.set_zone(GOOD_ZONE)
    publish_dkim(dns_server, domain)
    checks = checks_of(domain)
    assert {name: c["status"] for name, c in checks.items()} == {
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "pass",
        "mx": "pass",
        "ptr": "pass",
    }
    assert domain.dns_checked_at is not None
    assert "tracking_host" not in checks and "blocklist" not in checks


def chain(count: int) -> str:
    """An SPF record whose evaluation takes `count` lookups: includes chained one deep each."""
    lines = []
    for i in range(1, count):
        target = f"l{i + 1}.spf.test" if i + 1 < count else "last.spf.test"
        lines.append(txt_record(f"l{i}.spf.test", f"v=spf1 include:{target} -all"))
    lines.append(txt_record("last.spf.test", f"v=spf1 ip4:{SMTP_IP} -all"))
    lines.append(txt_record(DOMAIN, "v=spf1 include:l1.spf.test -all"))
    return "\n".join(lines)


SPF_CASES = [
    ("none", "", "fail", "publishes no SPF record"),
    (
        "two records",
        txt_record(DOMAIN, f"v=spf1 ip4:{SMTP_IP} -all")
        + "\n"
        + txt_record(DOMAIN, "v=spf1 mx -all"),
        "fail",
        "2 SPF records",
    ),
    ("+all", txt_record(DOMAIN, "v=spf1 +all"), "fail", "+all"),
    ("?all", txt_record(DOMAIN, f"v=spf1 ip4:{SMTP_IP} ?all"), "warn", "?all"),
    ("not covered", txt_record(DOMAIN, "v=spf1 ip4:198.51.100.0/24 -all"), "fail", "does not let"),
    ("ip4 range", txt_record(DOMAIN, "v=spf1 ip4:192.0.2.0/24 -all"), "pass", "lets"),
    ("a:", txt_record(DOMAIN, f"v=spf1 a:{SMTP_HOST} -all"), "pass", "lets"),
    (
        "mx",
        txt_record(DOMAIN, "v=spf1 mx -all") + f"\n{DOMAIN}. 60 IN MX 10 {SMTP_HOST}.",
        "pass",
        "lets",
    ),
    (
        "include",
        txt_record(DOMAIN, "v=spf1 include:_spf.provider.test ~all")
        + "\n"
        + txt_record("_spf.provider.test", "v=spf1 ip4:192.0.2.0/28 -all"),
        "pass",
        "lets",
    ),
    (
        "include that does not cover",
        txt_record(DOMAIN, "v=spf1 include:_spf.provider.test -all")
        + "\n"
        + txt_record("_spf.provider.test", "v=spf1 ip4:203.0.113.1 -all"),
        "fail",
        "does not let",
    ),
    (
        "redirect",
        txt_record(DOMAIN, "v=spf1 redirect=_spf.provider.test")
        + "\n"
        + txt_record("_spf.provider.test", f"v=spf1 ip4:{SMTP_IP} -all"),
        "pass",
        "lets",
    ),
    (
        "include of nothing",
        txt_record(DOMAIN, "v=spf1 include:nowhere.test -all"),
        "fail",
        "cannot be evaluated",
    ),
    ("10 lookups", chain(10), "pass", "10 of 10 lookups"),
    ("11 lookups", chain(11), "fail", "more than 10 DNS lookups"),
]


@pytest.mark.parametrize(
    ("case", "zone", "status", "words"), SPF_CASES, ids=[c[0] for c in SPF_CASES]
)
def test_spf(dns_server: Any, domain: Any, case: str, zone: str, status: str, words: str) -> None:
    dns_server.set_zone(SMTP_HOST_ZONE + zone)
    spf = checks_of(domain)["spf"]
    assert spf["status"] == status, spf
    assert words in spf["detail"]
    if status != "pass":
        assert spf["fix"]


def test_an_spf_record_missing_the_host_names_the_terms_to_add(
    dns_server: Any, domain: Any
) -> None:
    dns_server.set_zone(SMTP_HOST_ZONE + txt_record(DOMAIN, "v=spf1 include:_spf.google.com -all"))
    dns_server.add(txt_record("_spf.google.com", "v=spf1 ip4:198.51.100.0/24 ~all"))
    spf = checks_of(domain)["spf"]
    assert spf["fix"].endswith(f"v=spf1 include:_spf.google.com ip4:{SMTP_IP} -all")


DMARC_CASES = [
    ("none", "", "fail", "publishes no DMARC record"),
    ("p=none", "v=DMARC1; p=none; rua=mailto:d@punthelder-seo.nl", "warn", "p=none"),
    ("quarantine", "v=DMARC1; p=quarantine", "pass", "p=quarantine"),
    ("reject strict", "v=DMARC1; p=reject; adkim=s; aspf=s", "pass", "adkim=s, aspf=s"),
    ("no policy", "v=DMARC1; rua=mailto:d@punthelder-seo.nl", "fail", "no valid policy"),
    ("bad alignment", "v=DMARC1; p=reject; adkim=x", "fail", "adkim=x"),
]


@pytest.mark.parametrize(
    ("case", "value", "status", "words"), DMARC_CASES, ids=[c[0] for c in DMARC_CASES]
)
def test_dmarc(
    dns_server: Any, domain: Any, case: str, value: str, status: str, words: str
) -> None:
    dns_server.set_zone(APEX + (txt_record(f"_dmarc.{DOMAIN}", value) if value else ""))
    dmarc = checks_of(domain)["dmarc"]
    assert dmarc["status"] == status, dmarc
    assert words in dmarc["detail"]


MX_CASES = [
    ("none", "", "fail", "no MX record"),
    ("null MX", f"{DOMAIN}. 60 IN MX 0 .", "fail", "null MX"),
    ("mailbox", f"{DOMAIN}. 60 IN MX 10 mx.{DOMAIN}.", "pass", f"mx.{DOMAIN}"),
]


@pytest.mark.parametrize(
    ("case", "zone", "status", "words"), MX_CASES, ids=[c[0] for c in MX_CASES]
)
def test_mx(dns_server: Any, domain: Any, case: str, zone: str, status: str, words: str) -> None:
    dns_server.set_zone(APEX + zone)
    mx = checks_of(domain)["mx"]
    assert mx["status"] == status, mx
    assert words in mx["detail"]


PTR_CASES = [
    ("no address", "", "fail", "has no address"),
    ("no PTR", f"{SMTP_HOST}. 60 IN A {SMTP_IP}", "fail", "no reverse DNS"),
    (
        "PTR elsewhere",
        f"{SMTP_HOST}. 60 IN A {SMTP_IP}\n10.2.0.192.in-addr.arpa. 60 IN PTR other.test.\n"
        "other.test. 60 IN A 203.0.113.9",
        "fail",
        "does not lead back",
    ),
    ("confirmed", SMTP_HOST_ZONE, "pass", "forward-confirmed"),
]


@pytest.mark.parametrize(
    ("case", "zone", "status", "words"), PTR_CASES, ids=[c[0] for c in PTR_CASES]
)
def test_ptr(dns_server: Any, domain: Any, case: str, zone: str, status: str, words: str) -> None:
    dns_server.set_zone(zone)
    ptr = checks_of(domain)["ptr"]
    assert ptr["status"] == status, ptr
    assert words in ptr["detail"]


TRACKING_CASES = [
    (
        "CNAME to the app",
        f"t.{DOMAIN}. 60 IN CNAME campaigns.test.\ncampaigns.test. 60 IN A 192.0.2.50",
        "pass",
    ),
    (
        "CNAME elsewhere",
        f"t.{DOMAIN}. 60 IN CNAME tracker.other.test.\ntracker.other.test. 60 IN A 192.0.2.99",
        "fail",
    ),
    ("A equal", f"t.{DOMAIN}. 60 IN A 192.0.2.50\ncampaigns.test. 60 IN A 192.0.2.50", "pass"),
    ("A different", f"t.{DOMAIN}. 60 IN A 192.0.2.51\ncampaigns.test. 60 IN A 192.0.2.50", "fail"),
    ("missing", "campaigns.test. 60 IN A 192.0.2.50", "fail"),
]


@pytest.mark.parametrize(
    ("case", "zone", "status"), TRACKING_CASES, ids=[c[0] for c in TRACKING_CASES]
)
def test_tracking_host(dns_server: Any, domain: Any, case: str, zone: str, status: str) -> None:
    domain.tracking_host = f"t.{DOMAIN}"
    dns_server.set_zone(APEX + zone)
    check = checks_of(domain)["tracking_host"]
    assert check["status"] == status, check
    if status == "fail":
        assert check["fix"] == f"Publish: t.{DOMAIN}. IN CNAME campaigns.test."


BLOCKLIST_CASES = [
    ("not listed", "", "pass"),
    ("address listed", "10.2.0.192.bl.test. 60 IN A 127.0.0.2", "fail"),
    ("domain listed", f"{DOMAIN}.dbl.test. 60 IN A 127.0.1.2", "fail"),
    ("list refuses", "10.2.0.192.bl.test. 60 IN A 127.255.255.254", "warn"),
]


@pytest.mark.parametrize(
    ("case", "zone", "status"), BLOCKLIST_CASES, ids=[c[0] for c in BLOCKLIST_CASES]
)
def test_blocklists(
    app: Flask, dns_server: Any, domain: Any, case: str, zone: str, status: str
) -> None:
    app.config["DNS_BLOCKLISTS"] = "bl.test, dbl.test"
    try:
        dns_server.set_zone(SMTP_HOST_ZONE + zone)
        check = checks_of(domain)["blocklist"]
    finally:
        app.config["DNS_BLOCKLISTS"] = ""
    assert check["status"] == status, check


def test_dkim_fails_without_a_key_and_until_the_record_holds_ours(
    dns_server: Any, domain: Any
) -> None:
    dns_server.set_zone(APEX)
    assert checks_of(domain)["dkim"]["status"] == "fail"
    record = generate_dkim_key(domain, None, utcnow())
    dkim = checks_of(domain)["dkim"]
    assert dkim["status"] == "fail"
    assert record.txt in dkim["fix"]
    other = record.txt[:-12] + "AAAAAAAAAAAA"
    dns_server.add(txt_record(record.dns_name, other))
    assert "another key" in checks_of(domain)["dkim"]["detail"]
    dns_server.remove(record.dns_name)
    dns_server.add(txt_record(record.dns_name, record.txt))
    assert checks_of(domain)["dkim"]["status"] == "pass"


def test_a_pending_key_is_reported_and_the_daily_pass_moves_signing_once_published(
    dns_server: Any, domain: Any
) -> None:
    old = generate_dkim_key(domain, None, utcnow())
    dns_server.set_zone(txt_record(old.dns_name, old.txt))
    new = rotate_dkim_key(domain, None, utcnow())
    db.session.commit()
    dkim = checks_of(domain)["dkim"]
    assert dkim["status"] == "warn"
    assert "not published yet" in dkim["detail"]
    domain.dns_checked_at = None
    db.session.commit()
    daily_checks(utcnow())
    assert domain.dkim_selector == old.selector  # not published: signing stays put

    dns_server.add(txt_record(new.dns_name, new.txt))
    domain.dns_checked_at = None
    db.session.commit()
    assert daily_checks(utcnow()) == 1
    db.session.refresh(domain)
    assert domain.dkim_selector == new.selector
    assert domain.dkim_pending_selector is None
    assert {c["name"]: c["status"] for c in domain.dns_checks}["dkim"] == "pass"


def test_a_selector_is_never_made_twice_even_after_a_rotation_in_the_same_second(
    domain: Any,
) -> None:
    now = utcnow()
    first = generate_dkim_key(domain, None, now)
    second = rotate_dkim_key(domain, None, now)
    assert first.selector == f"cd{now:%Y%m%d%H%M%S}"
    assert second.selector == first.selector + "b"  # same second: a letter
    promote_pending_key(domain, None)
    db.session.commit()
    third = rotate_dkim_key(domain, None, now)
    # The retired selector's old record may sit in receivers' caches: never again.
    assert third.selector not in (first.selector, second.selector)
    a_year_on = now + timedelta(days=400)
    later = rotate_dkim_key(domain, None, a_year_on)
    assert later.selector == f"cd{a_year_on:%Y%m%d%H%M%S}"
    assert later.replaced_pending == third.selector


def test_a_domain_missing_from_the_dns_is_said_once_and_each_check_points_at_it(
    dns_server: Any, domain: Any
) -> None:
    generate_dkim_key(domain, None, utcnow())
    domain.tracking_host = f"t.{DOMAIN}"
    dns_server.set_zone(SMTP_HOST_ZONE.replace(APEX, ""))  # the SMTP host exists, the domain not
    checks = checks_of(domain)
    for name in ("spf", "dkim", "dmarc", "mx", "tracking_host"):
        assert checks[name]["status"] == "fail"
        assert checks[name]["detail"] == (
            f"Not found, because {DOMAIN} itself does not exist in the DNS (NXDOMAIN)."
        )
        assert checks[name]["fix"] == ""
    assert checks["ptr"]["status"] == "pass"
    notice = checks_notice(DOMAIN, domain.dns_checks)
    assert notice is not None
    assert notice["detail"].startswith(f"{DOMAIN} does not exist in the DNS (NXDOMAIN)")
    assert "registered" in notice["fix"]

    dns_server.set_zone(SMTP_HOST_ZONE)
    checks = checks_of(domain)
    assert "publishes no SPF record" in checks["spf"]["detail"]
    assert checks_notice(DOMAIN, domain.dns_checks) is None


def test_the_mx_fix_never_names_an_address(dns_server: Any, domain: Any) -> None:
    dns_server.set_zone(APEX)
    domain.imap_host = "127.0.0.1"
    mx = checks_of(domain)["mx"]
    assert "IN MX 10 127.0.0.1" not in mx["fix"]
    assert f"{DOMAIN}. IN MX 10 mail.{DOMAIN}." in mx["fix"]
    assert f"mail.{DOMAIN}. IN A 127.0.0.1" in mx["fix"]
    domain.imap_host = None
    mx = checks_of(domain)["mx"]
    assert (
        f"IN MX 10 mail.{DOMAIN}." in mx["fix"] and f"Give mail.{DOMAIN} an A record" in mx["fix"]
    )
    domain.imap_host = f"imap.{DOMAIN}"
    assert f"IN MX 10 imap.{DOMAIN}." in checks_of(domain)["mx"]["fix"]


def test_the_reverse_dns_of_an_address_host_names_the_address_once(
    dns_server: Any, domain: Any
) -> None:
    domain.smtp_host = SMTP_IP
    dns_server.set_zone(APEX)
    ptr = checks_of(domain)["ptr"]
    assert ptr["status"] == "fail"
    assert ptr["detail"] == f"{SMTP_IP} has no reverse DNS (PTR) name."
    assert "host name whose address is" in ptr["fix"]
