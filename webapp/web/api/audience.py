"""The audience builder over the API: the funnel for a set of filters."""

from __future__ import annotations

from typing import Any

from webapp.database import utcnow
from webapp.services.campaigns import parse_filters, preview_audience
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


@bp.post("/audience/preview")
def audience_preview() -> Any:
    return preview_audience(parse_filters(json_body()), utcnow()).to_dict()
