"""Secrets kept sealed in the database: SMTP and IMAP passwords, DKIM private keys.

They are sealed with Fernet (AES in CBC mode with an HMAC-SHA256 tag) under a key derived
from SECRET_KEY, so a copy of the database alone does not give away the agency's mail
accounts. Keys listed in SECRET_KEY_FALLBACKS still open what they sealed, so a new
SECRET_KEY can roll out; `flask --app wsgi domains reseal` then seals everything under it.
A value without the prefix was stored before sealing existed and is read as it is.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

PREFIX = "sealed:v1:"
_CONTEXT = b"campaigns/sealed-secrets/v1\x00"

log = logging.getLogger(__name__)


def _as_bytes(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode()


@functools.lru_cache(maxsize=16)
def _box(secrets: tuple[str | bytes, ...]) -> MultiFernet:
    keys = [
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + _as_bytes(s)).digest()))
        for s in secrets
    ]
    return MultiFernet(keys)  # seals with the first: the current SECRET_KEY


def _current_box() -> MultiFernet:
    config = current_app.config
    return _box((config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())))


def is_sealed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def seal(value: str | None) -> str | None:
    """The value as stored: sealed, or None and "" as they are (no secret set)."""
    if not value or is_sealed(value):
        return value
    return PREFIX + _current_box().encrypt(value.encode()).decode()


def unseal(stored: str | None) -> str | None:
    """The secret of a stored value; None (and a warning) when no key opens it."""
    if not stored or not is_sealed(stored):
        return stored
    try:
        return _current_box().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        log.warning(
            "a sealed secret opens with neither SECRET_KEY nor SECRET_KEY_FALLBACKS; "
            "it reads as unset until it is entered again"
        )
        return None
