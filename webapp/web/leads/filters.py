"""Jinja filters of the lead pages: addresses, URLs and domains as people write them;
and the labels of stored values (statuses, reasons) in the reader's language."""

from __future__ import annotations

from webapp.services.leads import unicode_email, unicode_host, unicode_url
from webapp.web.leads.blueprint import bp
from webapp.web.leads.labels import labels

bp.add_app_template_filter(unicode_email, "unicode_email")
bp.add_app_template_filter(unicode_host, "unicode_host")
bp.add_app_template_filter(unicode_url, "unicode_url")
bp.context_processor(labels)
