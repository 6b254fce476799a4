"""DNS lookups for the preflight: one resolver (DNS_RESOLVER or the system's), a time budget.

Each query may take QUERY_SECONDS, all queries of one domain's checks DOMAIN_SECONDS
together; a check whose lookups run out of time says so instead of hanging a request.
Answers are cached for the duration of one domain's checks, so the SPF evaluator may ask
the same name for every address without asking the server again.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import dns.reversename
from flask import current_app

QUERY_SECONDS = 3.0
DOMAIN_SECONDS = 10.0


class DnsUnavailable(Exception):
    """The DNS did not answer (time-out, server failure): nothing can be concluded."""


def parse_resolver(setting: str) -> tuple[str, int]:
    """`host:port`, `host`, or `[v6]:port` as (host, port); ValueError if it is neither."""
    text = setting.strip()
    if text.startswith("["):
        host, _bracket, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, _colon, port = text.partition(":")
    else:
        host, port = text, "53"
    ipaddress.ip_address(host)  # dnspython wants an address, not a name
    number = int(port)
    if not 1 <= number <= 65535:
        raise ValueError("port out of range")
    return host, number


def make_resolver(setting: str | None) -> dns.resolver.Resolver:
    """The configured resolver: the one DNS_RESOLVER names, else the system's."""
    if setting:
        host, port = parse_resolver(setting)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host]
        resolver.port = port
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = QUERY_SECONDS
    resolver.lifetime = QUERY_SECONDS
    resolver.cache = None
    return resolver


@dataclass
class Lookup:
    """The lookups of one domain's checks, against one resolver, within one time budget."""

    resolver: dns.resolver.Resolver
    deadline: float
    _cache: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # Names the DNS said do not exist at all (NXDOMAIN), as against names without the record.
    _missing: set[str] = field(default_factory=set)

    @classmethod
    def for_app(cls, budget: float = DOMAIN_SECONDS) -> Lookup:
        resolver = make_resolver(current_app.config.get("DNS_RESOLVER"))
        return cls(resolver, time.monotonic() + budget)

    def query(self, name: str, rdtype: str) -> list[str]:
        """The answer's records as text ([] for no such name or no such record)."""
        key = (name.lower().rstrip("."), rdtype)
        if key in self._cache:
            return self._cache[key]
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DnsUnavailable(f"no time left for {name} {rdtype}")
        records: list[str]
        try:
            answer = self.resolver.resolve(
                key[0] + ".", rdtype, lifetime=min(QUERY_SECONDS, left), search=False
            )
        except dns.resolver.NXDOMAIN:
            self._missing.add(key[0])
            records = []
        except dns.resolver.NoAnswer:
            records = []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
            raise DnsUnavailable(f"{name} {rdtype}: {error.__class__.__name__}") from None
        except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong):
            records = []
        else:
            records = [_text(rdata) for rdata in answer]
        self._cache[key] = records
        return records

    def exists(self, name: str) -> bool:
        """False when the DNS says the name does not exist at all (NXDOMAIN)."""
        self.query(name, "SOA")
        return name.lower().rstrip(".") not in self._missing

    def txt(self, name: str) -> list[str]:
        return self.query(name, "TXT")

    def addresses(self, name: str) -> list[str]:
        """A and AAAA of a name (the name itself when it is an address)."""
        try:
            return [str(ipaddress.ip_address(name))]
        except ValueError:
            pass
        return self.query(name, "A") + self.query(name, "AAAA")

    def mx(self, name: str) -> list[tuple[int, str]]:
        pairs = []
        for record in self.query(name, "MX"):
            preference, _space, exchange = record.partition(" ")
            pairs.append((int(preference), exchange.rstrip(".").lower()))
        return sorted(pairs)

    def cname(self, name: str) -> str | None:
        records = self.query(name, "CNAME")
        return records[0].rstrip(".").lower() if records else None

    def ptr(self, address: str) -> list[str]:
        reverse = dns.reversename.from_address(address).to_text(omit_final_dot=True)
        return [record.rstrip(".").lower() for record in self.query(reverse, "PTR")]


def _text(rdata: object) -> str:
    """TXT strings joined as one value (a DKIM key is split over several); others as text."""
    if getattr(rdata, "rdtype", None) == dns.rdatatype.TXT:
        strings: tuple[bytes, ...] = rdata.strings  # type: ignore[attr-defined]
        return b"".join(strings).decode("utf-8", "replace")
    return str(rdata.to_text())  # type: ignore[attr-defined]
