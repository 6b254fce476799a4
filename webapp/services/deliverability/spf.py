"""SPF (RFC 7208): the domain's one record, its lookup count, and whether it lets our SMTP
host send.

An evaluator of the mechanisms records really use (ip4, ip6, a, mx, include, exists, all,
and the redirect modifier), over the preflight's own resolver. Macros and `ptr` cannot be
judged ahead of a real connection; a term using them never counts as a match here, and
the check says so.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from webapp.services.deliverability.lookup import Lookup

MAX_LOOKUPS = 10
# Terms that cost a DNS lookup (RFC 7208 4.6.4).
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
MAX_DEPTH = 12
RESULTS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
_SPF_RE = re.compile(r"^v=spf1(\s|$)", re.IGNORECASE)
_NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]*", re.IGNORECASE)


class PermError(Exception):
    """The record cannot be evaluated (RFC 7208's permerror)."""


@dataclass(frozen=True)
class Term:
    qualifier: str
    name: str
    target: str | None = None
    cidr4: int | None = None
    cidr6: int | None = None
    modifier: bool = False


@dataclass
class Evaluation:
    """What evaluating addresses against a domain's SPF met on the way."""

    unjudged: set[str] = field(default_factory=set)  # terms with macros or ptr


def spf_records(lookup: Lookup, domain: str) -> list[str]:
    return [record for record in lookup.txt(domain) if _SPF_RE.match(record)]


def parse_record(record: str) -> list[Term]:
    """The terms after `v=spf1`; PermError for a term that is not SPF."""
    terms = []
    for raw in record.split()[1:]:
        qualifier = raw[0] if raw[0] in "+-~?" else "+"
        body = raw[1:] if raw[0] in "+-~?" else raw
        match = _NAME_RE.match(body)
        if match is None:
            raise PermError(f"cannot read the term {raw!r}")
        name, rest = match.group(0).lower(), body[match.end() :]
        if rest.startswith("="):
            terms.append(Term("+", name, rest[1:], modifier=True))
            continue
        terms.append(_mechanism(qualifier, name, rest, raw))
    return terms


def _mechanism(qualifier: str, name: str, rest: str, raw: str) -> Term:
    if name in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise PermError(f"{raw!r} names no address")
        try:
            ipaddress.ip_network(rest[1:], strict=False)
        except ValueError:
            raise PermError(f"{raw!r} is not an address range") from None
        return Term(qualifier, name, rest[1:])
    if name not in ("all", "a", "mx", "include", "exists", "ptr"):
        raise PermError(f"unknown mechanism {raw!r}")
    cidr4 = cidr6 = None
    if "//" in rest:
        rest, six = rest.split("//", 1)
        cidr6 = _cidr(six, 128, raw)
    if "/" in rest:
        rest, four = rest.rsplit("/", 1)
        cidr4 = _cidr(four, 32, raw)
    target = rest[1:] if rest.startswith(":") else None
    if rest and target is None:
        raise PermError(f"cannot read the term {raw!r}")
    if name in ("include", "exists") and not target:
        raise PermError(f"{raw!r} names no domain")
    return Term(qualifier, name, target, cidr4, cidr6)


def _cidr(text: str, most: int, raw: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= most:
        raise PermError(f"{raw!r} has a bad prefix length")
    return int(text)


def count_lookups(lookup: Lookup, domain: str, seen: frozenset[str] = frozenset()) -> int:
    """DNS lookups evaluating the domain's record may take, includes and redirects followed."""
    records = spf_records(lookup, domain)
    if len(records) != 1 or domain in seen or len(seen) > MAX_DEPTH:
        return 0
    count = 0
    for term in parse_record(records[0]):
        if term.name not in LOOKUP_TERMS or (term.modifier and term.name != "redirect"):
            continue
        count += 1
        if term.name in ("include", "redirect") and term.target and "%" not in term.target:
            count += count_lookups(lookup, term.target.lower(), seen | {domain})
        if count > MAX_LOOKUPS:
            break
    return count


def check_host(
    lookup: Lookup, address: str, domain: str, evaluation: Evaluation, depth: int = 0
) -> str:
    """RFC 7208's result for mail from `domain` sent by `address` (pass, fail, softfail,
    neutral, none); PermError for a record that cannot be evaluated."""
    if depth > MAX_DEPTH:
        raise PermError("includes nested too deeply")
    records = spf_records(lookup, domain)
    if not records:
        return "none"
    if len(records) > 1:
        raise PermError(f"{domain} has several SPF records")
    terms = parse_record(records[0])
    ip = ipaddress.ip_address(address)
    for term in terms:
        if not term.modifier and _matches(lookup, ip, domain, term, evaluation, depth):
            return RESULTS[term.qualifier]
    redirect = next((t for t in terms if t.modifier and t.name == "redirect"), None)
    if redirect and redirect.target:
        if "%" in redirect.target:
            evaluation.unjudged.add(f"redirect={redirect.target}")
            return "neutral"
        result = check_host(lookup, address, redirect.target.lower(), evaluation, depth + 1)
        if result == "none":
            raise PermError(f"redirect to {redirect.target}, which has no SPF record")
        return result
    return "neutral"


def _matches(
    lookup: Lookup,
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    domain: str,
    term: Term,
    evaluation: Evaluation,
    depth: int,
) -> bool:
    if term.name == "all":
        return True
    if term.name in ("ip4", "ip6"):
        assert term.target is not None
        network = ipaddress.ip_network(term.target, strict=False)
        return network.version == ip.version and ip in network
    target = (term.target or domain).lower()
    if term.name == "ptr" or "%" in target:
        evaluation.unjudged.add(f"{term.name}:{target}" if term.target else term.name)
        return False
    if term.name == "include":
        result = check_host(lookup, str(ip), target, evaluation, depth + 1)
        if result == "none":
            raise PermError(f"include:{target} has no SPF record")
        return result == "pass"
    if term.name == "exists":
        return bool(lookup.query(target, "A"))
    hosts = [target] if term.name == "a" else [host for _pref, host in lookup.mx(target)]
    for host in hosts:
        for address in lookup.addresses(host):
            if _in(ip, address, term):
                return True
    return False


def _in(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, address: str, term: Term) -> bool:
    other = ipaddress.ip_address(address)
    if other.version != ip.version:
        return False
    prefix = (term.cidr4 if ip.version == 4 else term.cidr6) or (32 if ip.version == 4 else 128)
    return ip in ipaddress.ip_network(f"{other}/{prefix}", strict=False)


def all_qualifier(record: str) -> str | None:
    """The qualifier of the record's own `all` (None when it has none)."""
    for raw in record.split()[1:]:
        body = raw[1:] if raw[0] in "+-~?" else raw
        if body.lower() == "all":
            return raw[0] if raw[0] in "+-~?" else "+"
    return None
