"""Which opens and clicks a machine made, by user agent and address range, and the
caller's address as read from the request and as kept."""

from __future__ import annotations

import functools
import ipaddress
import re
from datetime import datetime

DEFAULT_MACHINE_OPEN_SECONDS = 60
DEFAULT_IP_MODE = "truncate"
IP_MODES = ("truncate", "none", "full")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Where machine traffic comes from, with the source that names each range.
MACHINE_NETWORKS: tuple[tuple[str, _Network], ...] = (
    # Apple owns 17.0.0.0/8; Mail Privacy Protection fetches every image through it.
    ("apple_mpp", ipaddress.ip_network("17.0.0.0/8")),
    # Exchange Online Protection (Microsoft 365 endpoint set 9, "mail.protection.outlook.com"):
    # Defender and Safe Links scan mail from these, never a person's browser.
    ("microsoft_scanner", ipaddress.ip_network("40.92.0.0/15")),
    ("microsoft_scanner", ipaddress.ip_network("40.107.0.0/16")),
    ("microsoft_scanner", ipaddress.ip_network("52.100.0.0/15")),
    ("microsoft_scanner", ipaddress.ip_network("52.102.0.0/16")),
    ("microsoft_scanner", ipaddress.ip_network("52.103.0.0/17")),
    ("microsoft_scanner", ipaddress.ip_network("104.47.0.0/17")),
    ("microsoft_scanner", ipaddress.ip_network("2a01:111:f400::/48")),
    ("microsoft_scanner", ipaddress.ip_network("2a01:111:f403::/48")),
)

# (reason, pattern on the lower-cased user agent), first match wins.
MACHINE_USER_AGENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("google_image_proxy", re.compile(r"googleimageproxy|via ggpht\.com")),
    ("yahoo_image_proxy", re.compile(r"yahoomailproxy")),
    ("microsoft_scanner", re.compile(r"bingpreview|microsoft office protocol discovery")),
    (
        "security_scanner",
        re.compile(r"barracuda|mimecast|proofpoint|symantec|trendmicro|forcepoint|fireeye"),
    ),
    (
        "automated_client",
        re.compile(
            r"bot[/;)]|crawler|spider|scanner|\+https?://|headlesschrome|phantomjs"
            r"|^curl/|^wget/|^python-|^go-http-client|^java/|^libwww-perl|^okhttp/3\.\d+\.\d+$"
        ),
    ),
)


def classify(
    user_agent: str | None,
    ip: str | None,
    sent_at: datetime | None,
    now: datetime,
    machine_seconds: int = DEFAULT_MACHINE_OPEN_SECONDS,
) -> str | None:
    """Why an open or click looks automated, or None when it looks like a person."""
    reason = _network_reason(ip) if ip else None
    if reason is None:
        agent = user_agent or ""
        # Long agents are not worth a cache slot; real ones are a few hundred characters.
        reason = _agent_reason(agent) if len(agent) <= 1024 else _agent_reason.__wrapped__(agent)
    if reason is not None:
        return reason
    if sent_at is not None and (now - sent_at).total_seconds() < machine_seconds:
        return "seconds_after_send"
    return None


# Mail is opened by few distinct clients and proxies, so both lookups are cached.
@functools.lru_cache(maxsize=4096)
def _network_reason(ip: str) -> str | None:
    address = _parse_ip(ip)
    if address is None:
        return None
    for reason, network in MACHINE_NETWORKS:
        if address in network:
            return reason
    return None


@functools.lru_cache(maxsize=4096)
def _agent_reason(user_agent: str) -> str | None:
    agent = user_agent.strip().lower()
    if not agent:
        return "no_user_agent"
    # MPP also fetches from Apple's relay partners; its bare agent gives it away there.
    if agent == "mozilla/5.0":
        return "apple_mpp"
    for reason, pattern in MACHINE_USER_AGENTS:
        if pattern.search(agent):
            return reason
    return None


def client_ip(
    remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int
) -> str | None:
    """The caller's address: X-Forwarded-For is believed only through `trusted_proxies` hops."""
    candidate = remote_addr
    if trusted_proxies > 0 and forwarded_for:
        # Each trusted proxy appended one entry; anything further left was sent by the client.
        hops = [part.strip() for part in forwarded_for[-4096:].rsplit(",", trusted_proxies)]
        if len(hops) >= trusted_proxies:
            candidate = hops[-trusted_proxies]
    address = _parse_ip(candidate)
    return str(address) if address is not None else None


def stored_ip(ip: str | None, mode: str) -> str | None:
    """The address as kept: IPv4 /24 or IPv6 /48 network (default), nothing, or whole."""
    if not ip or len(ip) > 64:
        return None
    return _stored_address(ip, mode)


@functools.lru_cache(maxsize=4096)
def _stored_address(ip: str, mode: str) -> str | None:
    address = _parse_ip(ip)
    if address is None or mode == "none":
        return None
    if mode == "full":
        return str(address)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _parse_ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value or len(value) > 64:
        return None
    return _parse_address(value)


@functools.lru_cache(maxsize=4096)
def _parse_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
