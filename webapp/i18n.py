"""The interface's language: Dutch first, English the alternative (Flask-Babel).

A user's own choice wins; without one, the browser's Accept-Language; else Dutch.
Outside a request (commands, jobs) the default applies. Catalogs live in
`translations/` and are compiled by the set-up (`make run`, `make test`).
"""

from __future__ import annotations

from babel import Locale
from flask import Flask, current_app, has_app_context, has_request_context, request
from flask_babel import Babel, get_locale, refresh
from flask_login import current_user

from webapp.config import ROOT

LANGUAGES: dict[str, str] = {"nl": "Nederlands", "en": "English"}
DEFAULT_LOCALE = "nl"


def default_locale() -> str:
    """Dutch, unless the configuration says otherwise (BABEL_DEFAULT_LOCALE)."""
    if has_app_context():
        return str(current_app.config.get("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE))
    return DEFAULT_LOCALE


def select_locale() -> str:
    """The locale of this request: the user's setting, else the browser's, else Dutch."""
    if not has_request_context():
        return default_locale()
    chosen = getattr(current_user, "locale", None) if current_user else None
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES, default=default_locale())


def current_locale() -> Locale:
    """The locale to format and translate in (the default outside a request)."""
    return get_locale() or Locale.parse(default_locale())


def current_language() -> str:
    """The two-letter language pages are shown in (`<html lang>`)."""
    return current_locale().language


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "translations"))
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", app.config["APP_TIMEZONE"])
    Babel(app, locale_selector=select_locale)
    # The locale is cached on `g`; an app context that outlives one request (a test's,
    # or a command's) must not carry one request's language into the next.
    app.before_request(refresh)
    app.add_template_global(current_language, "current_language")
    app.jinja_env.globals["languages"] = LANGUAGES
