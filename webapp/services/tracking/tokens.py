"""Signed tokens for the links in a mail: open pixel, tracked links, unsubscribe.

Each purpose has its own salt, so a token made for one never verifies as another.
Payloads are readable (base64 JSON): they carry a message id (not personal data)
and, for a tracked link, the link itself, which was in the mail anyway. Binding the
link into the signature is what keeps the redirect to links that were in that mail,
without re-rendering the mail at click time.

A mail sent from a domain with its own tracking host carries tokens signed for that host
(the host is part of the salt): they verify only where they were meant to be used, so one
sender's tracking host never answers for another sender's mail (`hosts.token_hosts`).
"""

from __future__ import annotations

import functools
import re
from typing import TypeGuard

from flask import current_app
from itsdangerous import URLSafeSerializer
from itsdangerous.encoding import want_bytes

OPEN = "open"
CLICK = "click"
UNSUBSCRIBE = "unsubscribe"
PURPOSES = (OPEN, CLICK, UNSUBSCRIBE)

# Checked before any verification: a longer token is refused unread.
MAX_ID_TOKEN_LENGTH = 200
# A tracked link must still fit in one request line (gunicorn's default limit is 4094 bytes).
MAX_CLICK_TOKEN_LENGTH = 3000

_MESSAGE_ID = re.compile(r"[0-9a-f]{32}")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-.]+")


def _serializer(purpose: str, host: str | None = None) -> URLSafeSerializer:
    """Signs and reads tokens of `purpose`, for the main address or for one tracking host."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    config = current_app.config
    # itsdangerous signs with the last key and accepts every one, so old links keep
    # working through a rotation listed in Flask's SECRET_KEY_FALLBACKS.
    keys = (*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"])
    salt = purpose if not host else f"{purpose}@{host}"
    return _cached_serializer(salt, keys)


@functools.lru_cache(maxsize=1024)  # three purposes for the main address and every host
def _cached_serializer(salt: str, keys: tuple[str | bytes, ...]) -> URLSafeSerializer:
    return URLSafeSerializer([want_bytes(key) for key in keys], salt=salt)


def _is_message_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _MESSAGE_ID.fullmatch(value) is not None


def _load(purpose: str, token: object, max_length: int, host: str | None) -> object | None:
    """The verified payload, or None for anything that is not a valid token of `purpose`
    signed for `host` (None: the main address)."""
    if not isinstance(token, str) or not token or len(token) > max_length:
        return None
    if _TOKEN_CHARS.fullmatch(token) is None:
        return None
    try:
        payload: object = _serializer(purpose, host).loads(token)
        return payload
    except Exception:  # a bad signature, bad base64, bad JSON: all just "not a token"
        return None


def open_token(message_id: str, host: str | None = None) -> str:
    """The token of a message's open pixel (served on `host`, else the main address)."""
    return _serializer(OPEN, host).dumps(message_id)


def unsubscribe_token(message_id: str, host: str | None = None) -> str:
    """The token of a message's unsubscribe link (and, for the main address, mailto subject)."""
    return _serializer(UNSUBSCRIBE, host).dumps(message_id)


def click_token(message_id: str, url: str, host: str | None = None) -> str:
    """The token of one tracked link in a message: the target URL is signed with it."""
    return _serializer(CLICK, host).dumps([message_id, url])


def read_open_token(token: object, host: str | None = None) -> str | None:
    """The message id of a valid open token signed for `host`, else None."""
    payload = _load(OPEN, token, MAX_ID_TOKEN_LENGTH, host)
    return payload if _is_message_id(payload) else None


def read_unsubscribe_token(token: object, host: str | None = None) -> str | None:
    """The message id of a valid unsubscribe token signed for `host`, else None."""
    payload = _load(UNSUBSCRIBE, token, MAX_ID_TOKEN_LENGTH, host)
    return payload if _is_message_id(payload) else None


def read_click_token(token: object, host: str | None = None) -> tuple[str, str] | None:
    """(message id, target URL) of a valid click token signed for `host`, else None."""
    payload = _load(CLICK, token, MAX_CLICK_TOKEN_LENGTH, host)
    if not isinstance(payload, list) or len(payload) != 2:
        return None
    message_id, url = payload
    if not _is_message_id(message_id) or not is_trackable_url(url):
        return None
    return message_id, url


def is_trackable_url(url: object) -> bool:
    """True for an absolute http(s) URL without control characters: the only redirect targets."""
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        return False
    return not any(ord(char) < 0x20 or ord(char) == 0x7F for char in url)
