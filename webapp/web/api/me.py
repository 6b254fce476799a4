"""Who the token belongs to."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from webapp.web.api.blueprint import bp


@bp.get("/me")
def me() -> Any:
    return {"email": current_user.email, "role": current_user.role, "name": current_user.name}
