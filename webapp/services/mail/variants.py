"""Variants of a step: up to four versions (A-D) of its texts, each with a weight.

A step's own texts are the base. A variant may give its own subject and its own body; a
part it leaves out is the base's. The two bodies go together: a variant with an HTML or a
text body of its own takes both bodies from itself (a missing one made from the other, as
for a step), so its text part never tells another story than its HTML.

Which variant a lead gets is decided by `assign_variant`: a hash of the campaign, the lead
and the mail number, laid over the weights. Pure and without state, so a re-plan, a pause
and resume or a restart gives the same answer; the planner's writer stores it on the
message all the same, so a changed template or a declared winner is the only thing that
ever moves it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from webapp.models import VARIANT_KEYS

MIN_VARIANTS = 2
MAX_VARIANTS = len(VARIANT_KEYS)
MAX_WEIGHT = 1000
TEXT_PARTS = ("subject", "body_html", "body_text")


@dataclass(frozen=True)
class Variant:
    """One version of a step: its key, its weight and the parts it gives itself."""

    key: str
    weight: int = 1
    subject: str | None = None
    body_html: str | None = None
    body_text: str | None = None

    @property
    def has_body(self) -> bool:
        return self.body_html is not None or self.body_text is not None

    def to_dict(self) -> dict[str, Any]:
        """As stored and as the API shows it: the parts it does not give are left out."""
        data: dict[str, Any] = {"key": self.key}
        for part in TEXT_PARTS:
            value = getattr(self, part)
            if value is not None:
                data[part] = value
        data["weight"] = self.weight
        return data


def _own(value: Any) -> str | None:
    """A part's own text, or None when it is left to the base (missing or blank)."""
    return value if isinstance(value, str) and value.strip() else None


def variants_of(raw: Iterable[Any] | None) -> tuple[Variant, ...]:
    """The variants of a stored step (a JSON list) or a draft (Variant objects), by key."""
    found: list[Variant] = []
    for item in raw or ():
        if isinstance(item, Variant):
            found.append(item)
        elif isinstance(item, Mapping) and item.get("key") in VARIANT_KEYS:
            weight = item.get("weight", 1)
            weight = weight if isinstance(weight, int) and not isinstance(weight, bool) else 1
            parts = {part: _own(item.get(part)) for part in TEXT_PARTS}
            found.append(Variant(str(item["key"]), max(1, weight), **parts))
    return tuple(sorted(found, key=lambda variant: variant.key))


def parse_variants(raw: Any, prefix: str) -> tuple[tuple[Variant, ...], dict[str, str]]:
    """Variants from JSON input; errors under `<prefix>.variants[.N.field]` (N from 1).

    None or an empty list is no experiment; otherwise two to four, keys A-D once each,
    whole-number weights from 1 to MAX_WEIGHT, parts as text (blank: the base's).
    """
    field = f"{prefix}.variants"
    if raw is None or raw == []:
        return (), {}
    if not isinstance(raw, list):
        return (), {field: _("a list of variants")}
    if not MIN_VARIANTS <= len(raw) <= MAX_VARIANTS:
        return (), {
            field: _("an experiment has %(min)s to %(max)s variants", min=2, max=MAX_VARIANTS)
        }
    errors: dict[str, str] = {}
    variants: list[Variant] = []
    seen: set[str] = set()
    for position, item in enumerate(raw, start=1):
        here = f"{field}.{position}"
        if not isinstance(item, dict):
            errors[here] = _("each variant is an object")
            continue
        key = item.get("key")
        if key not in VARIANT_KEYS:
            errors[f"{here}.key"] = _("one of A, B, C and D")
        elif key in seen:
            errors[f"{here}.key"] = _("each variant has its own letter")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= MAX_WEIGHT:
            errors[f"{here}.weight"] = _("a whole number from 1 to %(max)s", max=MAX_WEIGHT)
        parts: dict[str, str | None] = {}
        for part in TEXT_PARTS:
            value = item.get(part)
            if value is not None and not isinstance(value, str):
                errors[f"{here}.{part}"] = _("must be text")
            parts[part] = _own(value)
        if not any(f.startswith(here) for f in errors):
            seen.add(str(key))
            variants.append(Variant(str(key), int(weight), **parts))
    return tuple(variants), errors


def assign_variant(
    campaign_id: str, lead_id: str, mail_number: int, variants: Sequence[Variant]
) -> str | None:
    """The variant the lead gets for this mail of this campaign; None without variants.

    A hash of the three spread over the total weight: each variant takes its weight's share
    of the leads, and the same lead always lands on the same one.
    """
    if not variants:
        return None
    ordered = sorted(variants, key=lambda variant: variant.key)
    total = sum(variant.weight for variant in ordered)
    seed = f"{campaign_id}\x1f{lead_id}\x1f{mail_number}".encode()
    point = int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest(), "big") % total
    for variant in ordered:
        if point < variant.weight:
            return variant.key
        point -= variant.weight
    return ordered[-1].key  # not reached: the points run below the total
