"""Jinja filters of the lead pages: addresses, URLs and domains as people write them."""

from __future__ import annotations

from webapp.services.leads import unicode_email, unicode_host, unicode_url
from webapp.web.leads.blueprint import bp

bp.add_app_template_filter(unicode_email, "unicode_email")
bp.add_app_template_filter(unicode_host, "unicode_host")
bp.add_app_template_filter(unicode_url, "unicode_url")
