"""Signed tokens for the links in a mail: open pixel, tracked links, unsubscribe.

Each purpose has its own salt, so a token made for one never verifies as another.
Payloads are readable (base64 JSON): they carry a message id (not personal data)
and, for a tracked link, the link itself, which was in the mail anyway. Binding the
link into the signature is what keeps the redirect to links that were in that mail,
without re-rendering the mail at click time.
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


def _serializer(purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    config = current_app.config
    # itsdangerous signs with the last key and accepts every one, so old links keep
    # working through a rotation listed in Flask's SECRET_KEY_FALLBACKS.
    keys = (*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"])
    return _cached_serializer(purpose, keys)


@functools.lru_cache(maxsize=64)
def _cached_serializer(purpose: str, keys: tuple[str | bytes, ...]) -> URLSafeSerializer:
    return URLSafeSerializer([want_bytes(key) for key in keys], salt=purpose)


def _is_message_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _MESSAGE_ID.fullmatch(value) is not None


def _load(purpose: str, token: object, max_length: int) -> object | None:
    """The verified payload, or None for anything that is not a valid token of `purpose`."""
    if not isinstance(token, str) or not token or len(token) > max_length:
        return None
    if _TOKEN_CHARS.fullmatch(token) is None:
        return None
    try:
        payload: object = _serializer(purpose).loads(token)
        return payload
    except Exception:  # a bad signature, bad base64, bad JSON: all just "not a token"
        return None


def open_token(message_id: str) -> str:
    """The token of a message's open pixel."""
    return _serializer(OPEN).dumps(message_id)


def unsubscribe_token(message_id: str) -> str:
    """The token of a message's unsubscribe link (and mailto subject)."""
    return _serializer(UNSUBSCRIBE).dumps(message_id)


def click_token(message_id: str, url: str) -> str:
    """The token of one tracked link in a message: the target URL is signed with it."""
    return _serializer(CLICK).dumps([message_id, url])


def read_open_token(token: object) -> str | None:
    """The message id of a valid open token, else None."""
    payload = _load(OPEN, token, MAX_ID_TOKEN_LENGTH)
    return payload if _is_message_id(payload) else None


def read_unsubscribe_token(token: object) -> str | None:
    """The message id of a valid unsubscribe token, else None."""
    payload = _load(UNSUBSCRIBE, token, MAX_ID_TOKEN_LENGTH)
    return payload if _is_message_id(payload) else None


def read_click_token(token: object) -> tuple[str, str] | None:
    """(message id, target URL) of a valid click token, else None."""
    payload = _load(CLICK, token, MAX_CLICK_TOKEN_LENGTH)
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
