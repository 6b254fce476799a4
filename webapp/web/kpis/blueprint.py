"""The kpis blueprint: kPI tables, timelines and their CSV exports."""

from flask import Blueprint

bp = Blueprint("kpis", __name__)
