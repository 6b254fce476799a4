"""The part of the product the internet reaches: pixel, tracked links, unsubscribe.

No login, no CSRF (a signed token proves intent), no session and no cookies.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Flask, Request
from flask.blueprints import BlueprintSetupState
from flask.sessions import SessionInterface, SessionMixin

from webapp.extensions import csrf
from webapp.services import tracking
from webapp.web.tracking.pixel import OpenPixel

bp = Blueprint("tracking", __name__)
csrf.exempt(bp)

# Every URL under these belongs to this blueprint (see the catch-all routes).
PATH_PREFIXES = ("/t/", "/u/")


def raw_host(request: Request) -> str:
    """The request's Host header exactly as it arrived (the server's own name without one).

    Not `request.host`: Werkzeug reads a Host it finds malformed as no host at all, and a
    request must not pass for one on the dashboard's address because of that.
    """
    host = request.environ.get("HTTP_HOST")
    return request.host if host is None else str(host)


def malformed_host(request: Request) -> bool:
    """Whether the request came with a Host header that is no plain host name or address
    (answered 400 by `webapp.hosts`). A request without one (HTTP/1.0) is the server's."""
    host = request.environ.get("HTTP_HOST")
    return host is not None and not tracking.is_plain_host(str(host))


def without_session(request: Request) -> bool:
    """Tracking URLs, a sending domain's tracking host (however its Host is spelled) and a
    malformed Host get no session."""
    return (
        request.path.startswith(PATH_PREFIXES)
        or malformed_host(request)
        or tracking.is_tracking_host(raw_host(request))
    )


class _NoSessionForTracking(SessionInterface):
    """The app's session interface, except that tracking URLs, every request on a sending
    domain's tracking host and every request with a malformed Host get a null session
    (`without_session`).

    A null session is neither read from the cookie nor ever saved: no Set-Cookie and no
    `Vary: Cookie`, whatever cookie a browser sends along, and a write fails loudly.
    """

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner
        self.null_session_class = inner.null_session_class

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def make_null_session(self, app: Flask) -> Any:
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if without_session(request):
            return self.inner.make_null_session(app)
        return self.inner.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        self.inner.save_session(app, session, response)


def _flask_app(state: BlueprintSetupState) -> Flask:
    """The app being set up: a Flask app, which Flask types as its sans-I/O base class."""
    return cast(Flask, state.app)


@bp.record_once
def _without_sessions(state: BlueprintSetupState) -> None:
    app = _flask_app(state)
    app.session_interface = _NoSessionForTracking(app.session_interface)


@bp.record_once
def _pixel_before_flask(state: BlueprintSetupState) -> None:
    app = _flask_app(state)
    app.wsgi_app = OpenPixel(app, app.wsgi_app)  # type: ignore[method-assign]
