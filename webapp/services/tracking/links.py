"""The tracking parts of an outgoing mail: pixel, tracked links, unsubscribe links.

These never decide whether to track: the sender checks the campaign's
`track_opens` / `track_clicks` and calls what it needs. With a `host` (the sending
domain's tracking host) the URLs are on that host, with PUBLIC_BASE_URL's scheme, port
and path, and their tokens are signed for it; without one they are on PUBLIC_BASE_URL.
"""

from __future__ import annotations

import functools
import re
from html import escape, unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

from flask import current_app

from webapp.services.tracking import tokens
from webapp.services.tracking.hosts import normalize_host

UNSUBSCRIBE_SUBJECT_PREFIX = "unsubscribe-"
_SUBJECT_TOKEN = re.compile(rf"{UNSUBSCRIBE_SUBJECT_PREFIX}([A-Za-z0-9_\-.]{{1,200}})")
# This app's tracking URLs in any form a mail may hold them: absolute on any host (the
# public base URL may have changed since the mail was written, and a base URL may carry a
# path), protocol-relative, or a bare path. `kind` is o (open pixel) or c (tracked link).
# A token never ends in a dot: the full stop after a URL in a sentence stays in the text.
_TRACKING_URL = re.compile(
    r"""(?:(?i:https?:)?//(?P<authority>[^\s"'<>()/]*)[^\s"'<>()]*?)?/t/(?P<kind>[oc])/"""
    r"""(?P<token>(?:[A-Za-z0-9_\-.]*[A-Za-z0-9_\-])?)"""
)
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
# What a tracking URL becomes when there is nothing harmless to put in its place.
INERT_URL = "about:blank"
# One attribute inside a start tag, as html.parser reads it.
_ATTRIBUTE = re.compile(
    r"""(?P<name>[^\s/>"'=][^\s/>"'=]*)(?:\s*=\s*(?P<value>"[^"]*"|'[^']*'|[^\s>]*))?"""
)


def _base(host: str | None = None) -> str:
    return _on_host(str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/"), host)


@functools.lru_cache(maxsize=256)
def _on_host(base: str, host: str | None) -> str:
    """The public base URL with its host name replaced by `host` (when given)."""
    if not host:
        return base
    parts = urlsplit(base)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/")


def open_pixel_url(message_id: str, host: str | None = None) -> str:
    """The URL of the message's open pixel."""
    return f"{_base(host)}/t/o/{tokens.open_token(message_id, host)}.gif"


def click_url(message_id: str, url: str, host: str | None = None) -> str:
    """The tracked form of one link of the message."""
    return f"{_base(host)}/t/c/{tokens.click_token(message_id, url, host)}"


def unsubscribe_url(message_id: str, host: str | None = None) -> str:
    """The unsubscribe page (and RFC 8058 one-click POST target) of the message."""
    return f"{_base(host)}/u/{tokens.unsubscribe_token(message_id, host)}"


def unsubscribe_mailto(domain: str, message_id: str) -> str:
    """The mailto: form of List-Unsubscribe; `message_id_from_unsubscribe_subject` reads it back."""
    token = tokens.unsubscribe_token(message_id)  # read by the inbox, on no host
    return f"mailto:unsubscribe@{domain}?subject={UNSUBSCRIBE_SUBJECT_PREFIX}{token}"


def message_id_from_unsubscribe_subject(subject: str) -> str | None:
    """The message id in the subject of a mailed unsubscribe request, if its token is valid."""
    for match in _SUBJECT_TOKEN.finditer((subject or "")[:2000]):
        message_id = tokens.read_unsubscribe_token(match.group(1))
        if message_id is not None:
            return message_id
    return None


def pixel_tag(message_id: str, host: str | None = None) -> str:
    """The <img> to append to the mail's HTML."""
    src = escape(open_pixel_url(message_id, host))
    return (
        f'<img src="{src}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;" />'
    )


def rewrite_links(html: str, message_id: str, host: str | None = None) -> str:
    """Point every http(s) link of <a> tags at its tracked URL; everything else is left as it is.

    mailto:, tel:, anchors, the unsubscribe link and our own URLs stay. Only the href
    value changes: the rest of the markup is kept character for character.
    """
    finder = _LinkFinder(html)
    finder.feed(html)
    finder.close()
    own = _base(host) + "/"
    ours = (own, _base() + "/")
    parts: list[str] = []
    done = 0
    for start, end, url in finder.links:
        if url.startswith(ours) or not tokens.is_trackable_url(url):
            continue
        token = tokens.click_token(message_id, url, host)
        if len(token) > tokens.MAX_CLICK_TOKEN_LENGTH:
            continue  # too long for a request line: better untracked than broken
        parts.append(html[done:start])
        parts.append(f'"{escape(own)}t/c/{token}"')
        done = end
    parts.append(html[done:])
    return "".join(parts)


def untracked_html(html: str) -> str:
    """A mail's HTML as the dashboard shows it: nothing in it records an open or a click.

    The open pixel goes; a tracked link points at its destination again (or nowhere, when
    its token is not ours); any other tracking URL becomes inert (docs/rules.md, decision 8).
    This undoes what `pixel_tag` and `rewrite_links` did, and whatever someone pasted into a
    template; it is not a sanitiser for hostile markup (the sandboxed iframe is that).
    """
    without_pixel = _IMG_TAG.sub(_unless_open_pixel, html)
    return _TRACKING_URL.sub(lambda match: escape(_untracked_url(match)), without_pixel)


def untracked_text(text: str) -> str:
    """A text part as the dashboard shows it: tracking URLs as in `untracked_html`."""
    return _TRACKING_URL.sub(_untracked_url, text)


def _unless_open_pixel(match: re.Match[str]) -> str:
    tag = match.group(0)
    if any(url["kind"] == "o" for url in _TRACKING_URL.finditer(unescape(tag))):
        return ""
    return tag


def _untracked_url(match: re.Match[str]) -> str:
    if match["kind"] == "c":
        # Signed for the host the URL names (a tracking host), or for the main address.
        for host in dict.fromkeys((normalize_host(match["authority"]), None)):
            found = tokens.read_click_token(match["token"], host)
            if found is not None:
                return found[1]  # the link as it was written, signed into the token
    return INERT_URL


class _LinkFinder(HTMLParser):
    """Finds the span of each <a href> value in the source, skipping comments and scripts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, int, str]] = []
        # getpos() answers (line, column); these turn it back into an offset in `html`.
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", html))]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        raw = self.get_starttag_text() or ""
        line, column = self.getpos()
        tag_start = self._line_starts[line - 1] + column
        # Skip the tag name; the first href wins, as in browsers.
        tag_name = re.match(r"<[^\s/>]*", raw)
        assert tag_name is not None  # the text of a start tag starts with "<"
        name_end = len(tag_name.group(0))
        for match in _ATTRIBUTE.finditer(raw, name_end):
            if match.group("name").lower() != "href":
                continue
            value = match.group("value")
            if value is None:
                return
            url = unescape(value.strip("\"'") if value[:1] in "\"'" else value).strip()
            start = tag_start + match.start("value")
            self.links.append((start, start + len(value), url))
            return
