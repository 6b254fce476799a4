"""The one place that knows an htmx request when it sees one."""

from __future__ import annotations

from flask import Flask, Response, g, make_response, render_template, request


def is_htmx() -> bool:
    """True for a request made by htmx (it sends `HX-Request: true`)."""
    return request.headers.get("HX-Request") == "true"


def is_history_restore() -> bool:
    """True when htmx missed its history cache and asks again for a page it had pushed."""
    return request.headers.get("HX-History-Restore-Request") == "true"


def wants_fragment() -> bool:
    """True when the answer should be a fragment rather than the whole page.

    htmx swaps a history restore into <body>, so it needs the page with its layout even
    though it says `HX-Request: true` (as django-htmx's `history_restore_request`).
    """
    # Whoever asks makes the answer depend on the restore header; caches must know.
    g._htmx_varies_on_restore = True
    return is_htmx() and not is_history_restore()


def render_page_or_fragment(page: str, fragment: str, **context: object) -> str:
    """The fragment if `wants_fragment()`, the full page (which includes it) otherwise."""
    return render_template(fragment if wants_fragment() else page, **context)


def render_uncached(template: str, status: int = 200, **context: object) -> Response:
    """A page that holds a signed link or a typed address: kept out of every cache."""
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    @app.after_request
    def _vary_on_htmx(response: Response) -> Response:
        # One URL may answer with a page or a fragment; caches must keep them apart.
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        if g.get("_htmx_varies_on_restore"):
            response.vary.add("HX-History-Restore-Request")
        return response
