"""The open pixel, answered before Flask routes the request.

`GET /t/o/<token>.gif` is the busiest URL of the product: every mail opened loads it, often
several times (image proxies, scanners, the reader coming back). It needs no session, no
login, no routing and no template, so `OpenPixel` answers it straight from the WSGI
environ inside an app context, and leaves everything else (other methods, bodies too large
for a pixel, every other URL) to Flask. The Flask route in `routes.py` answers the same way
for anything that falls through.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import Flask, current_app

from webapp.extensions import db
from webapp.headers import security_headers
from webapp.services import tracking

# A 1x1 transparent GIF (43 bytes).
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
# What every answer from the tracking URLs carries (see routes._without_cookies): the
# security headers of every answer, with no referrer at all and no search engines.
TRACKING_HEADERS = tuple(
    {
        **dict(security_headers()),
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
    }.items()
)
PIXEL_HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(PIXEL_GIF))),
    ("Cache-Control", "no-store"),
    *TRACKING_HEADERS,
]
PREFIX = "/t/o/"
# A one-click POST body is 26 bytes; a button press a little more. Nothing needs more.
MAX_BODY_BYTES = 4096

T = TypeVar("T")
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def record_open(
    token: str,
    user_agent: str | None,
    remote_addr: str | None,
    forwarded_for: str | None,
    host: str | None = None,
) -> None:
    """Record the open a pixel token stands for; a token that is not valid records nothing.

    `host` is the request's Host: a tracking host records only the opens of mail that
    named it (`tracking.token_hosts`); another sender's token still gets the GIF.
    Never raises: the pixel answers its GIF whatever happens, and the failure is logged.
    """
    try:
        message_id = read_token(tracking.read_open_token, token.removesuffix(".gif"), host)
        if message_id is None:
            return
        ip = client_ip(remote_addr, forwarded_for)
        record(tracking.open_hit(message_id, user_agent, ip))
    except Exception:
        current_app.logger.exception("tracking: open not recorded")
        rollback()


def read_token(
    read: Callable[[str, str | None], T | None], token: str, host: str | None
) -> T | None:
    """What a token holds, if it was signed for a host this request's Host may answer for."""
    for signed_for in tracking.token_hosts(host):
        found = read(token, signed_for)
        if found is not None:
            return found
    return None


def client_ip(remote_addr: str | None, forwarded_for: str | None) -> str | None:
    """The caller's address, believing X-Forwarded-For through `TRUSTED_PROXIES` hops only."""
    proxies = int(current_app.config.get("TRUSTED_PROXIES", 0))
    return tracking.client_ip(remote_addr, forwarded_for, proxies)


def record(hit: tracking.Hit) -> None:
    """Queue the hit for the writer thread; write it here when buffering is off or full."""
    if not tracking.enqueue(hit):
        tracking.write_hits([hit])
        db.session.commit()


def rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the database is gone: nothing to roll back
        current_app.logger.debug("tracking: rollback failed", exc_info=True)


def _small_body(environ: dict[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH") or "0"
    return length.isdigit() and int(length) <= MAX_BODY_BYTES


class OpenPixel:
    """WSGI middleware: GET and HEAD of the open pixel, without Flask's request handling."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO") or ""
        method = environ.get("REQUEST_METHOD")
        if not path.startswith(PREFIX) or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        if not _small_body(environ):
            return self.wsgi_app(environ, start_response)  # Flask answers 413
        if method == "GET":  # a HEAD is a probe, not a reader loading the image
            with self.app.app_context():
                record_open(
                    path.removeprefix(PREFIX),
                    environ.get("HTTP_USER_AGENT"),
                    environ.get("REMOTE_ADDR"),
                    environ.get("HTTP_X_FORWARDED_FOR"),
                    environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
                )
        start_response("200 OK", list(PIXEL_HEADERS))
        return [PIXEL_GIF] if method == "GET" else []
