"""The audience builder over the API: the funnel for a set of filters."""

from __future__ import annotations

from typing import Any

from webapp.database import utcnow
from webapp.errors import ApiError
from webapp.services.campaigns import AudienceError, parse_filters, preview_audience
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


@bp.post("/audience/preview")
def audience_preview() -> Any:
    try:
        preview = preview_audience(parse_filters(json_body()), utcnow())
    except AudienceError as error:
        raise ApiError(422, "invalid audience settings", error.fields) from None
    return preview.to_dict()
