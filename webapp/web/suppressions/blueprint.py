"""The suppressions blueprint: addresses and whole domains never mailed again."""

from flask import Blueprint

bp = Blueprint("suppressions", __name__)
