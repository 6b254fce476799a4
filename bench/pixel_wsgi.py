"""The app as gunicorn serves it, plus a no-database GIF route to compare the pixel with.

`/baseline/pixel.gif` is a separate, minimal Flask app that answers the same 43-byte GIF
with the same headers and touches nothing else; every other path goes to the real app.
Used by bench/pixel.py only.
"""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from webapp import create_app
from webapp.web.tracking.pixel import PIXEL_GIF

baseline = Flask("baseline")


@baseline.get("/pixel.gif")
def pixel() -> Response:
    response = Response(PIXEL_GIF, mimetype="image/gif")
    response.headers["Cache-Control"] = "no-store"
    return response


app = DispatcherMiddleware(create_app(), {"/baseline": baseline})
