"""The planning blueprint: domain availability and the sending calendar."""

from flask import Blueprint

bp = Blueprint("planning", __name__)
