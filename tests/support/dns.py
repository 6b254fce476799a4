"""A real authoritative DNS server for the tests: dnslib's DNSServer on UDP and TCP.

The records are zone-file text held in memory and read on every query, so a test writes
its zones and may change them mid-test (the next query sees the change). Names the zones
do not hold (nor any name below them) answer NXDOMAIN; a name with no record of the asked
type, or with records only below it, answers NOERROR with no data, as an authoritative
server does. CNAMEs are followed inside the zones.
"""

from __future__ import annotations

import threading
from typing import Any

from dnslib import QTYPE, RCODE, RR
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from tests.support.services import free_port


def txt_record(name: str, value: str, ttl: int = 60) -> str:
    """A TXT record line with the value split into strings of at most 255 characters."""
    parts = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
    quoted = " ".join('"' + part.replace('"', '\\"') + '"' for part in parts)
    return f"{name}. {ttl} IN TXT {quoted}"


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[Any] = []

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        qname, qtype = request.q.qname, request.q.qtype
        with self.lock:
            records = list(self.records)
        name = qname
        for _hop in range(8):
            here = [rr for rr in records if rr.rname == name]
            if not here:
                below = any(rr.rname.matchSuffix(name) for rr in records)
                if name == qname and not below:
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            wanted = [rr for rr in here if rr.rtype == qtype or qtype == QTYPE.ANY]
            if wanted:
                for rr in wanted:
                    reply.add_answer(rr)
                return reply
            cname = next((rr for rr in here if rr.rtype == QTYPE.CNAME), None)
            if cname is None:
                return reply
            reply.add_answer(cname)
            name = cname.rdata.label
        return reply


class DnsServer:
    """The server and its zones; `address` is what DNS_RESOLVER takes."""

    def __init__(self) -> None:
        self.resolver = ZoneResolver()
        self.port = free_port()
        self.servers = [
            DNSServer(
                self.resolver,
                port=self.port,
                address="127.0.0.1",
                tcp=tcp,
                logger=DNSLogger(logf=lambda _line: None),
            )
            for tcp in (False, True)
        ]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        for server in self.servers:
            server.start_thread()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def set_zone(self, text: str) -> None:
        """Replace every record with those of the zone text."""
        records = RR.fromZone(text) if text.strip() else []
        with self.resolver.lock:
            self.resolver.records = records

    def add(self, text: str) -> None:
        """Add the records of the zone text (lines such as `txt_record` writes)."""
        records = RR.fromZone(text)
        with self.resolver.lock:
            self.resolver.records = [*self.resolver.records, *records]

    def remove(self, name: str) -> None:
        """Take every record of the name away."""
        with self.resolver.lock:
            self.resolver.records = [
                rr for rr in self.resolver.records if str(rr.rname).rstrip(".") != name
            ]
