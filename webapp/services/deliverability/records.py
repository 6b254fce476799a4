"""The DNS checks of one sending domain: SPF, DKIM, DMARC, MX, PTR, tracking host, blocklists.

Each check returns `{name, status, detail, fix}` with detail and fix as stored sentences
(words.said), worded in the reader's language when shown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from webapp.models import SendingDomain
from webapp.services.deliverability.dkim import dkim_records
from webapp.services.deliverability.lookup import DnsUnavailable, Lookup
from webapp.services.deliverability.spf import (
    MAX_LOOKUPS,
    Evaluation,
    PermError,
    all_qualifier,
    check_host,
    count_lookups,
    spf_records,
)
from webapp.services.deliverability.words import N_, said

Check = dict[str, Any]


def result(name: str, status: str, detail: Any, fix: Any = None) -> Check:
    return {"name": name, "status": status, "detail": detail, "fix": fix}


def guarded(name: str, run: Callable[[], Check]) -> Check:
    """A check whose lookups the DNS did not answer fails, saying so."""
    try:
        return run()
    except DnsUnavailable as error:
        return result(
            name,
            "fail",
            said(
                N_("The DNS did not answer in time (%(error)s), so this could not be checked."),
                error=str(error),
            ),
            said(N_("Check again in a while; if it keeps failing, check the resolver setting.")),
        )


def tag_values(record: str) -> dict[str, str]:
    """`k=v; k2=v2` as a dict (lower-case keys, values without spaces)."""
    tags = {}
    for part in record.split(";"):
        key, equals, value = part.partition("=")
        if equals:
            tags[key.strip().lower()] = "".join(value.split())
    return tags


# -- SPF ----------------------------------------------------------------------------------


def _suggested_spf(lookup: Lookup, domain: SendingDomain) -> tuple[str, str]:
    """The terms that let our SMTP host send, and a whole record with them."""
    if not domain.smtp_host:
        return "mx", "v=spf1 mx ~all"
    addresses = lookup.addresses(domain.smtp_host)
    terms = (
        " ".join(f"ip{ipaddress.ip_address(a).version}:{a}" for a in addresses)
        or f"a:{domain.smtp_host}"
    )
    return terms, f"v=spf1 {terms} ~all"


def _with_terms(record: str, terms: str) -> str:
    parts = record.split()
    at = next(
        (
            i
            for i, p in enumerate(parts)
            if p.lstrip("+-~?").lower() == "all" or p.lower().startswith("redirect=")
        ),
        len(parts),
    )
    return " ".join([*parts[:at], terms, *parts[at:]])


def check_spf(lookup: Lookup, domain: SendingDomain) -> Check:
    name = domain.name
    records = spf_records(lookup, name)
    terms, suggested = _suggested_spf(lookup, domain)
    if not records:
        return result(
            "spf",
            "fail",
            said(
                N_(
                    "%(domain)s publishes no SPF record, so receivers cannot tell which servers "
                    "may send for it."
                ),
                domain=name,
            ),
            said(
                N_("Publish a TXT record on %(domain)s: %(record)s"), domain=name, record=suggested
            ),
        )
    if len(records) > 1:
        return result(
            "spf",
            "fail",
            said(
                N_(
                    "%(domain)s publishes %(count)s SPF records; receivers then ignore all of them."
                ),
                domain=name,
                count=len(records),
            ),
            said(
                N_("Merge them into one TXT record starting with v=spf1, such as: %(record)s"),
                record=suggested,
            ),
        )
    record = records[0]
    try:
        lookups = count_lookups(lookup, name)
        qualifier = all_qualifier(record)
        if qualifier == "+":
            return result(
                "spf",
                "fail",
                said(
                    N_(
                        "The SPF record ends in +all: it lets any server in the world send as "
                        "%(domain)s."
                    ),
                    domain=name,
                ),
                said(
                    N_("Replace +all with ~all or -all: %(record)s"),
                    record=record.replace("+all", "~all"),
                ),
            )
        if lookups > MAX_LOOKUPS:
            return result(
                "spf",
                "fail",
                said(
                    N_(
                        "Evaluating the SPF record takes more than %(most)s DNS lookups; receivers"
                        " stop there and count the mail as failing SPF."
                    ),
                    most=MAX_LOOKUPS,
                ),
                said(
                    N_(
                        "Replace includes you do not need with ip4: and ip6: ranges until at most "
                        "%(most)s lookups remain."
                    ),
                    most=MAX_LOOKUPS,
                ),
            )
        if not domain.smtp_host:
            return result(
                "spf",
                "warn",
                said(
                    N_(
                        "No SMTP host is set, so whether the SPF record lets it send cannot be "
                        "checked."
                    )
                ),
                said(N_("Set the SMTP host in the settings above.")),
            )
        addresses = lookup.addresses(domain.smtp_host)
        if not addresses:
            return _host_without_address("spf", domain.smtp_host)
        evaluation = Evaluation()
        refused = [a for a in addresses if check_host(lookup, a, name, evaluation) != "pass"]
    except PermError as error:
        return result(
            "spf",
            "fail",
            said(N_("The SPF record cannot be evaluated: %(error)s."), error=str(error)),
            said(N_("Correct the record, such as: %(record)s"), record=suggested),
        )
    if refused:
        return result(
            "spf",
            "fail",
            said(
                N_("The SPF record does not let %(host)s (%(addresses)s) send for %(domain)s."),
                host=domain.smtp_host,
                addresses=", ".join(refused),
                domain=name,
            ),
            said(
                N_("Add %(terms)s before the end of the record: %(record)s"),
                terms=terms,
                record=_with_terms(record, terms),
            ),
        )
    if qualifier == "?":
        return result(
            "spf",
            "warn",
            said(
                N_(
                    "The SPF record lets %(host)s send, but ends in ?all, which says nothing about"
                    " other servers."
                ),
                host=domain.smtp_host,
            ),
            said(N_("End it with ~all or -all: %(record)s"), record=record.replace("?all", "~all")),
        )
    return result(
        "spf",
        "pass",
        said(
            N_(
                "One SPF record, %(count)s of %(most)s lookups, and it lets %(host)s send: "
                "%(record)s"
            ),
            count=lookups,
            most=MAX_LOOKUPS,
            host=domain.smtp_host,
            record=record,
        ),
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_without_address(name: str, host: str) -> Check:
    return result(
        name,
        "fail",
        said(N_("The SMTP host %(host)s has no address in the DNS."), host=host),
        said(N_("Check the SMTP host name in the settings above.")),
    )


# -- DKIM ---------------------------------------------------------------------------------


def published_dkim_key(lookup: Lookup, dns_name: str) -> str | None:
    """The `p=` of the DKIM record at the name (None when there is none)."""
    for record in lookup.txt(dns_name):
        tags = tag_values(record)
        if "p" in tags and tags.get("v", "DKIM1") == "DKIM1":
            return tags["p"]
    return None


def check_dkim(lookup: Lookup, domain: SendingDomain) -> Check:
    records = {record.state: record for record in dkim_records(domain)}
    active, pending = records.get("active"), records.get("pending")
    if active is None:
        return result(
            "dkim",
            "fail",
            said(
                N_("%(domain)s has no DKIM key, so its mail goes out unsigned."), domain=domain.name
            ),
            said(
                N_(
                    "Generate a key in the DKIM section of this domain's page and publish its TXT "
                    "record."
                )
            ),
        )
    published = published_dkim_key(lookup, active.dns_name)
    detail: list[dict[str, Any]] = []
    fix: list[dict[str, Any]] = []
    if published is None:
        status = "fail"
        detail.append(
            said(
                N_(
                    "No DKIM record is published at %(name)s, so receivers cannot verify the "
                    "signature."
                ),
                name=active.dns_name,
            )
        )
        fix.append(
            said(
                N_("Publish a TXT record at %(name)s: %(txt)s"),
                name=active.dns_name,
                txt=active.txt,
            )
        )
    elif published != active.public_key:
        status = "fail"
        detail.append(
            said(
                N_(
                    "The DKIM record at %(name)s holds another key than the one this application "
                    "signs with."
                ),
                name=active.dns_name,
            )
        )
        fix.append(
            said(
                N_("Replace the value of the TXT record at %(name)s with: %(txt)s"),
                name=active.dns_name,
                txt=active.txt,
            )
        )
    else:
        status = "pass"
        detail.append(
            said(
                N_("The DKIM record at %(name)s holds the key this application signs with."),
                name=active.dns_name,
            )
        )
    if pending is not None:
        if published_dkim_key(lookup, pending.dns_name) == pending.public_key:
            detail.append(
                said(
                    N_(
                        "The new key at %(name)s is published: it takes over at the next daily "
                        "check, or activate it now."
                    ),
                    name=pending.dns_name,
                )
            )
        else:
            status = "warn" if status == "pass" else status
            detail.append(
                said(
                    N_(
                        "The new key at %(name)s is not published yet; mail stays signed with the "
                        "current key meanwhile."
                    ),
                    name=pending.dns_name,
                )
            )
            fix.append(
                said(
                    N_("Publish a TXT record at %(name)s: %(txt)s"),
                    name=pending.dns_name,
                    txt=pending.txt,
                )
            )
    return result("dkim", status, detail, fix or None)


def pending_key_published(lookup: Lookup, domain: SendingDomain) -> bool:
    pending = next((r for r in dkim_records(domain) if r.state == "pending"), None)
    return (
        pending is not None and published_dkim_key(lookup, pending.dns_name) == pending.public_key
    )


# -- DMARC --------------------------------------------------------------------------------


def check_dmarc(lookup: Lookup, domain: SendingDomain) -> Check:
    name = domain.name
    where = f"_dmarc.{name}"
    suggested = "v=DMARC1; p=quarantine; adkim=r; aspf=r"
    records = [r for r in lookup.txt(where) if r.replace(" ", "").upper().startswith("V=DMARC1")]
    policy_tag = "p"
    labels = name.split(".")
    if not records and len(labels) > 2:
        # Mail from a subdomain falls under its organisation's record and its sp= policy.
        where = "_dmarc." + ".".join(labels[-2:])
        records = [
            r for r in lookup.txt(where) if r.replace(" ", "").upper().startswith("V=DMARC1")
        ]
        policy_tag = "sp"
    if not records:
        return result(
            "dmarc",
            "fail",
            said(
                N_(
                    "%(domain)s publishes no DMARC record, so mailbox providers treat its mail as "
                    "unprotected."
                ),
                domain=name,
            ),
            said(
                N_("Publish a TXT record at %(name)s: %(record)s"),
                name=f"_dmarc.{name}",
                record=suggested,
            ),
        )
    if len(records) > 1:
        return result(
            "dmarc",
            "fail",
            said(
                N_("%(name)s holds %(count)s DMARC records; receivers then ignore all of them."),
                name=where,
                count=len(records),
            ),
            said(
                N_("Keep one TXT record at %(name)s, such as: %(record)s"),
                name=where,
                record=suggested,
            ),
        )
    tags = tag_values(records[0])
    policy = (tags.get(policy_tag) or tags.get("p") or "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return result(
            "dmarc",
            "fail",
            said(
                N_(
                    "The DMARC record at %(name)s has no valid policy (p=none, quarantine or "
                    "reject)."
                ),
                name=where,
            ),
            said(N_("Publish a TXT record at %(name)s: %(record)s"), name=where, record=suggested),
        )
    for tag in ("adkim", "aspf"):
        if tags.get(tag, "r").lower() not in ("r", "s"):
            return result(
                "dmarc",
                "fail",
                said(
                    N_(
                        "The DMARC record at %(name)s says %(tag)s=%(value)s, which is neither r "
                        "(relaxed) nor s (strict)."
                    ),
                    name=where,
                    tag=tag,
                    value=tags[tag],
                ),
                said(N_("Use %(tag)s=r or %(tag)s=s, or leave it out for relaxed."), tag=tag),
            )
    alignment = said(
        N_(
            "Mail is signed with d=%(domain)s and sent from an address on %(domain)s, so it is "
            "aligned (adkim=%(adkim)s, aspf=%(aspf)s)."
        ),
        domain=name,
        adkim=tags.get("adkim", "r").lower(),
        aspf=tags.get("aspf", "r").lower(),
    )
    if policy == "none":
        return result(
            "dmarc",
            "warn",
            [
                said(
                    N_(
                        "The DMARC policy at %(name)s is p=none: receivers only report, and trust "
                        "the domain less."
                    ),
                    name=where,
                ),
                alignment,
            ],
            said(
                N_("Once the reports show only your own mail, change it to quarantine: %(record)s"),
                record=records[0].replace("p=none", "p=quarantine"),
            ),
        )
    return result(
        "dmarc",
        "pass",
        [
            said(N_("The DMARC policy at %(name)s is p=%(policy)s."), name=where, policy=policy),
            alignment,
        ],
    )


# -- MX, reverse DNS, tracking host, blocklists ---------------------------------------------


def _mx_fix(domain: SendingDomain, msgid: str) -> list[dict[str, Any]]:
    """The MX record to publish: it names the IMAP host, or `mail.<domain>` (with an address
    record for it) when the IMAP host is an address or unset, since an MX names a host."""
    name = domain.name
    host = (domain.imap_host or "").strip().rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host) if host else None
    except ValueError:
        address = None
    if host and address is None:
        return [said(msgid, record=f"{name}. IN MX 10 {host}.")]
    mail = f"mail.{name}"
    fix = [said(msgid, record=f"{name}. IN MX 10 {mail}.")]
    if address is None:
        fix.append(
            said(
                N_("Give %(host)s an A record with the address of the mailbox server."),
                host=mail,
            )
        )
    else:
        kind = "A" if address.version == 4 else "AAAA"
        fix.append(
            said(
                N_("An MX record names a host, never an address, so also publish: %(record)s"),
                record=f"{mail}. IN {kind} {address}",
            )
        )
    return fix


def check_mx(lookup: Lookup, domain: SendingDomain) -> Check:
    name = domain.name
    mx = lookup.mx(name)
    if not mx:
        return result(
            "mx",
            "fail",
            said(
                N_("%(domain)s has no MX record, so replies to its mail cannot arrive."),
                domain=name,
            ),
            _mx_fix(
                domain, N_("Publish an MX record pointing at the mailbox host, such as: %(record)s")
            ),
        )
    if all(host in ("", ".") for _pref, host in mx):
        return result(
            "mx",
            "fail",
            said(
                N_(
                    "%(domain)s publishes a null MX: it says it takes no mail at all, so replies "
                    "bounce."
                ),
                domain=name,
            ),
            _mx_fix(
                domain,
                N_(
                    "Replace it with an MX record pointing at the mailbox host, such as: %(record)s"
                ),
            ),
        )
    return result(
        "mx",
        "pass",
        said(
            N_("Replies to %(domain)s arrive at %(hosts)s."),
            domain=name,
            hosts=", ".join(h for _p, h in mx),
        ),
    )


def check_ptr(lookup: Lookup, domain: SendingDomain) -> Check:
    host = domain.smtp_host
    if not host:
        return result(
            "ptr",
            "warn",
            said(N_("No SMTP host is set, so its reverse DNS cannot be checked.")),
            said(N_("Set the SMTP host in the settings above.")),
        )
    addresses = lookup.addresses(host)
    if not addresses:
        return _host_without_address("ptr", host)
    names = []
    host_is_address = _is_address(host)
    for address in addresses:
        ptrs = lookup.ptr(address)
        if host_is_address:
            fix = said(
                N_(
                    "Ask whoever runs %(address)s to set its reverse DNS (PTR) to a host name "
                    "whose address is %(address)s, and use that name as the SMTP host."
                ),
                address=address,
            )
            missing = said(N_("%(address)s has no reverse DNS (PTR) name."), address=address)
        else:
            fix = said(
                N_("Ask whoever runs %(address)s to set its reverse DNS (PTR) to %(host)s."),
                address=address,
                host=host,
            )
            missing = said(
                N_("%(address)s, the address of %(host)s, has no reverse DNS (PTR) name."),
                address=address,
                host=host,
            )
        if not ptrs:
            return result("ptr", "fail", missing, fix)
        if not any(address in lookup.addresses(ptr) for ptr in ptrs):
            return result(
                "ptr",
                "fail",
                said(
                    N_(
                        "The reverse name of %(address)s, %(names)s, does not lead back to "
                        "%(address)s."
                    ),
                    address=address,
                    names=", ".join(ptrs),
                ),
                fix,
            )
        names.extend(ptrs)
    return result(
        "ptr",
        "pass",
        said(
            N_("%(host)s (%(addresses)s) has forward-confirmed reverse DNS: %(names)s."),
            host=host,
            addresses=", ".join(addresses),
            names=", ".join(sorted(set(names))),
        ),
    )


def check_tracking_host(lookup: Lookup, domain: SendingDomain, public_base_url: str) -> Check:
    host = domain.tracking_host
    assert host is not None
    app_host = (urlparse(public_base_url).hostname or "").lower()
    try:
        ipaddress.ip_address(app_host)
        wanted = f"{host}. IN A {app_host}"
    except ValueError:
        wanted = f"{host}. IN CNAME {app_host}."
    fix = said(N_("Publish: %(record)s"), record=wanted)
    target = lookup.cname(host)
    if target == app_host:
        return result(
            "tracking_host",
            "pass",
            said(N_("%(host)s is a CNAME to %(app)s."), host=host, app=app_host),
        )
    if target is not None:
        return result(
            "tracking_host",
            "fail",
            said(
                N_("%(host)s is a CNAME to %(target)s, not to %(app)s."),
                host=host,
                target=target,
                app=app_host,
            ),
            fix,
        )
    addresses, app_addresses = lookup.addresses(host), lookup.addresses(app_host)
    if not addresses:
        return result(
            "tracking_host", "fail", said(N_("%(host)s is not in the DNS."), host=host), fix
        )
    if set(addresses) != set(app_addresses):
        return result(
            "tracking_host",
            "fail",
            said(
                N_("%(host)s points at %(addresses)s, not at this application (%(app)s)."),
                host=host,
                addresses=", ".join(addresses),
                app=app_host,
            ),
            fix,
        )
    return result(
        "tracking_host",
        "pass",
        said(N_("%(host)s points at the addresses of %(app)s."), host=host, app=app_host),
    )


def _listing(lookup: Lookup, query: str) -> str | None:
    """`listed`, `refused` (the list answers 127.255.255.x to resolvers it will not serve),
    or None."""
    answers = [a for a in lookup.query(query, "A") if a.startswith("127.")]
    if any(not a.startswith("127.255.255.") for a in answers):
        return "listed"
    return "refused" if answers else None


def check_blocklists(lookup: Lookup, domain: SendingDomain, zones: list[str]) -> Check:
    """Each zone is asked for the domain and for the SMTP host's reversed IPv4 addresses."""
    asked = [(domain.name, domain.name)]
    if domain.smtp_host:
        for address in lookup.addresses(domain.smtp_host):
            if ipaddress.ip_address(address).version == 4:
                asked.append((address, ".".join(reversed(address.split(".")))))
    listed, refused = [], []
    for zone in zones:
        for shown, query in asked:
            state = _listing(lookup, f"{query}.{zone}")
            if state == "listed":
                listed.append(f"{shown} ({zone})")
            elif state == "refused" and zone not in refused:
                refused.append(zone)
    if listed:
        return result(
            "blocklist",
            "fail",
            said(N_("Listed on a blocklist: %(listed)s."), listed=", ".join(listed)),
            said(
                N_(
                    "Find out why on the list's own site, remove the cause and ask for delisting; "
                    "send nothing from this domain meanwhile."
                )
            ),
        )
    if refused:
        return result(
            "blocklist",
            "warn",
            said(
                N_("%(zones)s would not answer this resolver, so the listing is unknown."),
                zones=", ".join(refused),
            ),
            said(
                N_(
                    "Point the resolver setting at a resolver of your own; public resolvers are "
                    "refused by most lists."
                )
            ),
        )
    return result(
        "blocklist",
        "pass",
        said(N_("Not listed on %(zones)s."), zones=", ".join(zones)),
    )
