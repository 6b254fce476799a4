"""The suppressions blueprint: addresses and whole domains never mailed again."""

from flask import Blueprint

from webapp.web.leads.labels import labels

bp = Blueprint("suppressions", __name__)
# The reasons shown in the reader's language, as on the lead pages.
bp.context_processor(labels)
