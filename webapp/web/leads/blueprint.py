"""The leads blueprint: lead pages: the list, imports, one lead, bulk actions and lists."""

from flask import Blueprint

bp = Blueprint("leads", __name__)
