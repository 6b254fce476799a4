"""The audit blueprint: who did what and when, for admins and managers."""

from flask import Blueprint

bp = Blueprint("audit", __name__)
