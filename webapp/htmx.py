"""The one place that knows an htmx request when it sees one."""

from __future__ import annotations

from flask import Flask, Response, request


def is_htmx() -> bool:
    """True for a request made by htmx (it sends `HX-Request: true`)."""
    return request.headers.get("HX-Request") == "true"


def render_page_or_fragment(page: str, fragment: str, **context: object) -> str:
    """The fragment for htmx, the full page (which includes the fragment) otherwise."""
    from flask import render_template

    return render_template(fragment if is_htmx() else page, **context)


def init_app(app: Flask) -> None:
    @app.after_request
    def _vary_on_htmx(response: Response) -> Response:
        # One URL may answer with a page or a fragment; caches must keep them apart.
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response
