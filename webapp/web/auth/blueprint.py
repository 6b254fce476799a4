"""The auth blueprint: logging in and out."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from webapp.web.auth import throttle

bp = Blueprint("auth", __name__)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    throttle.init_app(state.app)
