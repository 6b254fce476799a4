"""The account blueprint: what each user sets for themselves."""

from flask import Blueprint

bp = Blueprint("account", __name__)
