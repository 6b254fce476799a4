"""Content warnings before a campaign starts: what in a template step tends to land mail
in the spam folder, or breaks the product's own promises (a text part, an unsubscribe
line). Pure: the step's source text in, warnings out. Warnings warn; nothing is blocked.

The checks read the template as written (Jinja included), not a rendered mail: they are
about what the marketer wrote, and `{{ url }}` in an href is one link whatever the lead.
A step with variants is read as each variant sends it: a warning every variant shares is
the step's, one that only some have names its variant.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from webapp.services.mail.rendering import step_for_variant
from webapp.services.mail.variants import variants_of

# Phrases that spam filters and deliverability guides keep flagging in cold mail. A short
# hand-picked list, not a filter's rule set: the English ones from the trigger-word lists
# that mail-service guides publish (HubSpot, Mailchimp, Mailmeteor), the Dutch ones their
# counterparts in Dutch sales mail. Matched whole-word, ignoring case.
SPAM_PHRASES: tuple[str, ...] = (
    # Dutch
    "100% gratis",
    "gratis",
    "geen kosten",
    "klik hier",
    "nu bestellen",
    "nu kopen",
    "gegarandeerd",
    "niet goed geld terug",
    "winnaar",
    "je hebt gewonnen",
    "u heeft gewonnen",
    "snel geld",
    "geld verdienen",
    "laatste kans",
    "op = op",
    "risicoloos",
    # English
    "100% free",
    "free",
    "no cost",
    "click here",
    "act now",
    "buy now",
    "order now",
    "guarantee",
    "guaranteed",
    "winner",
    "you have been selected",
    "risk-free",
    "no obligation",
    "limited time",
    "earn money",
    "extra cash",
    "$$$",
    "€€€",
    "!!!",
)
# Hosts that hide where a link goes; filters distrust them, and one shortener's abuse
# drags every mail with its links down.
URL_SHORTENERS: tuple[str, ...] = (
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "t.ly",
    "s.id",
)
MAX_LINKS = 3
# Less visible text than this beside an image reads as an image mail to a filter.
MIN_TEXT_WITH_IMAGES = 100


class ContentCode(StrEnum):
    """What a content warning is about (the API's `code`)."""

    SPAM_PHRASES = "spam_phrases"
    TOO_MANY_LINKS = "too_many_links"
    URL_SHORTENER = "url_shortener"
    IMAGE_HEAVY = "image_heavy"
    NO_TEXT_PART = "no_text_part"
    NO_UNSUBSCRIBE_LINE = "no_unsubscribe_line"


@dataclass(frozen=True)
class ContentWarning:
    """One warning about one step (or one variant of it); `message` is translated when shown."""

    mail_number: int
    code: ContentCode
    message: Any  # a lazy string: the reader's language at the moment it is shown
    variant: str | None = None  # None: the whole step, every variant alike

    def to_dict(self) -> dict[str, Any]:
        return {
            "mail_number": self.mail_number,
            "variant": self.variant,
            "code": str(self.code),
            "message": str(self.message),
        }


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    # Whole words: "free" is not in "freelance", "gratis" is in "100% gratis"; "!!!" may
    # follow a word.
    before = r"(?<!\w)" if phrase[0].isalnum() else ""
    after = r"(?!\w)" if phrase[-1].isalnum() else ""
    return re.compile(before + re.escape(phrase) + after, re.IGNORECASE)


_PHRASES = [(phrase, _phrase_pattern(phrase)) for phrase in SPAM_PHRASES]
_SHORTENER = re.compile(
    r"(?<![\w.-])(?:www\.)?(" + "|".join(re.escape(h) for h in URL_SHORTENERS) + r")(?![\w-]|\.\w)",
    re.IGNORECASE,
)
_JINJA = re.compile(r"{%.*?%}|{#.*?#}", re.DOTALL)
_EXPRESSION = re.compile(r"{{.*?}}", re.DOTALL)
_HREF = re.compile(r"<a\b[^>]*?\bhref\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)
_TEXT_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']+|{{\s*url\s*}}", re.IGNORECASE)
_IMG = re.compile(r"<img\b", re.IGNORECASE)
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.IGNORECASE | re.DOTALL)
_UNSUBSCRIBE = re.compile(r"unsubscribe_url")
_SPACE = re.compile(r"\s+")


def visible_text(body_html: str) -> str:
    """The words a reader sees in the HTML (template statements and tags left out)."""
    text = _TAG.sub(" ", _JINJA.sub(" ", body_html))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def _links(body_html: str, body_text: str) -> int:
    """Links the mail shows, not counting the unsubscribe link: the HTML's anchors, or the
    text's addresses when there is no HTML (the larger of the two)."""
    hrefs = {h.strip("\"'") for h in _HREF.findall(body_html) if "unsubscribe_url" not in h}
    urls = set(_TEXT_URL.findall(body_text))
    return max(len(hrefs), len(urls))


def check_step(
    mail_number: int, subject: str, body_html: str, body_text: str
) -> list[ContentWarning]:
    """The content warnings of one template step, in a fixed order of codes."""
    found: list[ContentWarning] = []

    def warn(code: ContentCode, message: Any) -> None:
        found.append(ContentWarning(mail_number, code, message))

    words = " ".join((subject, visible_text(body_html), _JINJA.sub(" ", body_text)))
    phrases = [phrase for phrase, pattern in _PHRASES if pattern.search(words)]
    # "100% gratis" says it all; "gratis" inside it is not a second finding.
    phrases = [p for p in phrases if not any(p != q and p.lower() in q.lower() for q in phrases)]
    if phrases:
        warn(
            ContentCode.SPAM_PHRASES,
            _l(
                "Words spam filters distrust: %(phrases)s. Say it in plain words of your own.",
                phrases=", ".join(f"“{p}”" for p in phrases),
            ),
        )
    links = _links(body_html, body_text)
    if links > MAX_LINKS:
        warn(
            ContentCode.TOO_MANY_LINKS,
            _l(
                "%(count)s links; a first mail from a person has one or two. Keep at most %(max)s.",
                count=links,
                max=MAX_LINKS,
            ),
        )
    shorteners = sorted({m.lower() for m in _SHORTENER.findall(" ".join((body_html, body_text)))})
    if shorteners:
        warn(
            ContentCode.URL_SHORTENER,
            _l(
                "Links through a URL shortener (%(hosts)s) hide where they go and are often"
                " blocked. Link to the full address instead.",
                hosts=", ".join(shorteners),
            ),
        )
    if _IMG.search(body_html) and len(_EXPRESSION.sub("x", visible_text(body_html))) < (
        MIN_TEXT_WITH_IMAGES
    ):
        warn(
            ContentCode.IMAGE_HEAVY,
            _l(
                "Mostly images and hardly any text: filters read that as advertising. Write"
                " the message as text; use an image only beside it."
            ),
        )
    if not body_text.strip():
        warn(
            ContentCode.NO_TEXT_PART,
            _l(
                "No text part: one is made from the HTML, which can read oddly. Write the"
                " text version yourself."
            ),
        )
    written = [part for part in (body_html, body_text) if part.strip()]
    if any(not _UNSUBSCRIBE.search(part) for part in written):
        warn(
            ContentCode.NO_UNSUBSCRIBE_LINE,
            _l(
                "No unsubscribe line of your own: a standard Dutch line is added at the end."
                " Place {{ unsubscribe_url }} in the HTML and the text where it fits the mail."
            ),
        )
    return found


def _check_source(step: Any) -> list[ContentWarning]:
    return check_step(step.mail_number, step.subject, step.body_html, step.body_text)


def check_variants(step: Any) -> list[ContentWarning]:
    """A step's warnings as its variants send it: what all of them share once, as the
    step's, then what only some have, each under its variant (the base alone without any)."""
    variants = variants_of(getattr(step, "variants", None))
    if not variants:
        return _check_source(step)
    per_variant = {v.key: _check_source(step_for_variant(step, v.key)) for v in variants}

    def same(warning: ContentWarning) -> tuple[str, str]:
        return (warning.code, str(warning.message))

    first = per_variant[variants[0].key]
    shared = {same(w) for w in first}
    for warnings in per_variant.values():
        shared &= {same(w) for w in warnings}
    found = [w for w in first if same(w) in shared]
    for key, warnings in per_variant.items():
        found.extend(
            ContentWarning(w.mail_number, w.code, w.message, key)
            for w in warnings
            if same(w) not in shared
        )
    return found


def check_steps(steps: list[Any]) -> list[ContentWarning]:
    """The content warnings of a template's steps, step by step (variants included)."""
    found: list[ContentWarning] = []
    for step in sorted(steps, key=lambda s: s.mail_number):
        found.extend(check_variants(step))
    return found
