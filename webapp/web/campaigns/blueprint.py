"""The campaigns blueprint: campaign pages: the list, the wizard, one campaign and its messages."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)
