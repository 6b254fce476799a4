"""DKIM keys of sending domains: made or imported, published, rotated without a gap.

A domain signs with `dkim_selector` / `dkim_private_key`. A second key waits in
`dkim_pending_*` while its record reaches the DNS; signing moves to it only when the
record is seen (activate, or the daily check), so a rotation never signs with a key
nobody can look up. A domain's first key signs at once: its mail fails DKIM until the
record is published, and the page says so. Selectors are never used twice on a domain:
receivers cache a selector's record, so a selector published again with another key
would fail mail signed with either. Private keys are sealed at rest and never leave
this module.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import AuditEvent, SendingDomain
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import Conflict, InvalidInput

KEY_BITS = 2048
MIN_IMPORT_BITS = 1024
# RFC 8301: verifiers must take 1024 to 4096 bits; larger keys may not verify, and
# validating one costs seconds of CPU per request.
MAX_IMPORT_BITS = 4096
_DKIM_ACTIONS = (AuditAction.DKIM_GENERATED, AuditAction.DKIM_IMPORTED, AuditAction.DKIM_ACTIVATED)
# DNS providers take TXT values as strings of at most 255 characters each.
TXT_STRING_MAX = 255
_SELECTOR_RE = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


@dataclass(frozen=True)
class DkimRecord:
    """The TXT record that publishes one key: its name, one-line value and 255-char strings."""

    selector: str
    dns_name: str
    txt: str
    strings: tuple[str, ...]
    state: str  # active | pending
    public_key: str
    # Set on the answer to a new key: the pending key it replaced, and what to know.
    replaced_pending: str | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {
            "selector": self.selector,
            "dns_name": self.dns_name,
            "txt": self.txt,
            "txt_strings": list(self.strings),
            "state": self.state,
        }
        if self.replaced_pending:
            answer["replaced_pending"] = self.replaced_pending
        if self.warnings:
            answer["warnings"] = list(self.warnings)
        return answer

    @property
    def zone_line(self) -> str:
        """The record as a zone file writes it, split into quoted strings."""
        quoted = " ".join(f'"{part}"' for part in self.strings)
        return f"{self.dns_name}. IN TXT ( {quoted} )"


def public_key_base64(private_pem: str) -> str:
    """The base64 SubjectPublicKeyInfo of a PEM private key: the record's `p=` value."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    der: bytes = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def dkim_record(domain_name: str, selector: str, private_pem: str, state: str) -> DkimRecord:
    public = public_key_base64(private_pem)
    txt = f"v=DKIM1; k=rsa; p={public}"
    strings = tuple(txt[i : i + TXT_STRING_MAX] for i in range(0, len(txt), TXT_STRING_MAX))
    return DkimRecord(selector, f"{selector}._domainkey.{domain_name}", txt, strings, state, public)


def dkim_records(domain: SendingDomain) -> list[DkimRecord]:
    """The records of the domain's active key and of its pending one, as far as it has them."""
    records = []
    if domain.dkim_selector and domain.dkim_private_key:
        records.append(
            dkim_record(domain.name, domain.dkim_selector, domain.dkim_private_key, "active")
        )
    if domain.dkim_pending_selector and domain.dkim_pending_private_key:
        records.append(
            dkim_record(
                domain.name,
                domain.dkim_pending_selector,
                domain.dkim_pending_private_key,
                "pending",
            )
        )
    return records


def new_selector(domain: SendingDomain, now: datetime) -> str:
    """`cd` + the moment to the second, so a selector is never made twice; a letter only
    when a key of the same second is active or pending."""
    taken = {domain.dkim_selector, domain.dkim_pending_selector} | used_selectors(domain)
    base = f"cd{now:%Y%m%d%H%M%S}"
    for suffix in ["", *"bcdefghijklmnopqrstuvwxyz"]:
        if base + suffix not in taken:
            return str(base + suffix)
    raise Conflict(str(_("no free selector left this second: try again")))


def used_selectors(domain: SendingDomain) -> set[str]:
    """Every selector a key of the domain was ever made, imported or activated under."""
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.subject_type == "sending_domain",
            AuditEvent.subject_id == domain.id,
            AuditEvent.action.in_([str(action) for action in _DKIM_ACTIONS]),
        )
    )
    used: set[str] = set()
    for event in events:
        details = event.details or {}
        used.update(
            str(details[key]) for key in ("selector", "previous_selector") if details.get(key)
        )
    return used


def _pem(key: rsa.RSAPrivateKey) -> str:
    # PKCS#1 ("BEGIN RSA PRIVATE KEY"), the form dkimpy reads.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")


def generate_dkim_key(domain: SendingDomain, user_id: str | None, now: datetime) -> DkimRecord:
    """A new 2048-bit key: active at once on a domain without one, else pending (a rotation)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return _store(domain, new_selector(domain, now), _pem(key), user_id, AuditAction.DKIM_GENERATED)


def rotate_dkim_key(domain: SendingDomain, user_id: str | None, now: datetime) -> DkimRecord:
    """A new pending key beside the active one; Conflict when there is no active key yet."""
    if not domain.dkim_private_key:
        raise Conflict(
            _("%(domain)s has no DKIM key to rotate yet: generate one", domain=domain.name)
        )
    return generate_dkim_key(domain, user_id, now)


def import_dkim_key(
    domain: SendingDomain, selector: str, private_pem: str, user_id: str | None
) -> DkimRecord:
    """An existing RSA key (PEM, one key of 1024 to 4096 bits) under a selector the domain
    never used: active on a domain without a key, else pending. InvalidInput names the
    selector or the key; a key under 2048 bits is taken with a warning."""
    selector = (selector or "").strip().lower()
    errors: dict[str, str] = {}
    if not _SELECTOR_RE.match(selector) or len(selector) > 63:
        errors["selector"] = _("must be a DNS label such as s1 or cd202612")
    elif selector == domain.dkim_selector:
        errors["selector"] = _("is the selector of the current key: choose a new one")
    elif selector in used_selectors(domain):
        errors["selector"] = _(
            "was used before on this domain; receivers may still hold its old record: "
            "choose a new one"
        )
    key, key_error = _read_key(private_pem or "")
    if key_error:
        errors["private_key"] = key_error
    elif key is not None and _same_key(key, domain.dkim_private_key):
        errors["private_key"] = _(
            "is the key this domain signs with already: a rotation needs a new key"
        )
    if errors:
        raise InvalidInput(errors, _("invalid DKIM key"))
    assert isinstance(key, rsa.RSAPrivateKey)
    warnings: tuple[str, ...] = ()
    if key.key_size < KEY_BITS:
        warnings = (
            str(
                _(
                    "The key has %(bits)s bits: receivers accept it, but %(recommended)s bits are "
                    "recommended.",
                    bits=key.key_size,
                    recommended=KEY_BITS,
                )
            ),
        )
    record = _store(domain, selector, _pem(key), user_id, AuditAction.DKIM_IMPORTED)
    return replace(record, warnings=warnings)


def _read_key(pem: str) -> tuple[rsa.RSAPrivateKey | None, str | None]:
    """The one RSA key of the PEM text, or why it cannot be used. Its size is checked
    before the key is validated: validating a huge key is what costs the CPU."""
    if pem.count("-----BEGIN ") > 1:
        return None, _("holds more than one key: import a file with one key")
    data = pem.encode()
    try:
        key = serialization.load_pem_private_key(
            data, password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError):
        return None, _("must be a PEM private key without a passphrase")
    if not isinstance(key, rsa.RSAPrivateKey):
        return None, _("must be an RSA key")
    if not MIN_IMPORT_BITS <= key.key_size <= MAX_IMPORT_BITS:
        return None, _(
            "is %(bits)s bits; receivers verify keys of %(least)s to %(most)s bits",
            bits=key.key_size,
            least=MIN_IMPORT_BITS,
            most=MAX_IMPORT_BITS,
        )
    try:
        checked = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        return None, _("must be a PEM private key without a passphrase")
    assert isinstance(checked, rsa.RSAPrivateKey)
    return checked, None


def _same_key(key: rsa.RSAPrivateKey, other_pem: str | None) -> bool:
    if not other_pem:
        return False
    other = serialization.load_pem_private_key(other_pem.encode(), password=None)
    return isinstance(other, rsa.RSAPrivateKey) and (
        other.public_key().public_numbers() == key.public_key().public_numbers()
    )


def _store(
    domain: SendingDomain, selector: str, pem: str, user_id: str | None, action: AuditAction
) -> DkimRecord:
    state = "pending" if domain.dkim_private_key else "active"
    replaced = domain.dkim_pending_selector if state == "pending" else None
    if state == "active":
        domain.dkim_selector, domain.dkim_private_key = selector, pem
    else:
        domain.dkim_pending_selector, domain.dkim_pending_private_key = selector, pem
    details = {"name": domain.name, "selector": selector, "state": state}
    if replaced:
        details["replaced_pending"] = replaced
    record_action(action, "sending_domain", domain.id, user_id, details)
    db.session.flush()
    return replace(dkim_record(domain.name, selector, pem, state), replaced_pending=replaced)


def promote_pending_key(domain: SendingDomain, user_id: str | None) -> DkimRecord:
    """Sign with the pending key from now on (its record was seen); the caller checked."""
    if not (domain.dkim_pending_selector and domain.dkim_pending_private_key):
        raise Conflict(_("%(domain)s has no pending DKIM key", domain=domain.name))
    previous = domain.dkim_selector
    domain.dkim_selector = domain.dkim_pending_selector
    domain.dkim_private_key = domain.dkim_pending_private_key
    domain.dkim_pending_selector = domain.dkim_pending_private_key = None
    record_action(
        AuditAction.DKIM_ACTIVATED,
        "sending_domain",
        domain.id,
        user_id,
        {"name": domain.name, "selector": domain.dkim_selector, "previous_selector": previous},
    )
    db.session.flush()
    assert domain.dkim_selector and domain.dkim_private_key
    return dkim_record(domain.name, domain.dkim_selector, domain.dkim_private_key, "active")


@dataclass(frozen=True)
class RetiredKey:
    """The selector a rotation left behind, whose record may go a week after it."""

    selector: str
    since: datetime

    @property
    def remove_after(self) -> datetime:
        # Receivers may verify mail signed with the old key for days after it was sent.
        return self.since + timedelta(days=7)


def retired_key(domain: SendingDomain) -> RetiredKey | None:
    """The last rotation's old selector, when it is not in use again."""
    event = db.session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.subject_type == "sending_domain",
            AuditEvent.subject_id == domain.id,
            AuditEvent.action == AuditAction.DKIM_ACTIVATED,
        )
        .order_by(AuditEvent.created_at.desc())
        .limit(1)
    ).first()
    previous = (event.details or {}).get("previous_selector") if event else None
    if (
        not event
        or not previous
        or previous in (domain.dkim_selector, domain.dkim_pending_selector)
    ):
        return None
    return RetiredKey(str(previous), event.created_at)
