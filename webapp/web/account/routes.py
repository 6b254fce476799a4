"""The user's language."""

from __future__ import annotations

from typing import Any

from flask import redirect, request
from flask_login import current_user

from webapp.extensions import db
from webapp.services.users import set_locale
from webapp.web.account.blueprint import bp
from webapp.web.auth.signin import safe_next


@bp.post("/language")
def language() -> Any:
    """Show the interface in another language from now on (an unknown one is a 422)."""
    set_locale(current_user, request.form.get("locale", ""))
    db.session.commit()
    return redirect(safe_next(request.form.get("next")))
