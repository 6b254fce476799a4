"""The domains blueprint: sending domain pages (admins change them, everyone reads them)."""

from flask import Blueprint

bp = Blueprint("domains", __name__)
