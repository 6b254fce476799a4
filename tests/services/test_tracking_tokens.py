"""Signed tokens and the tracking parts of a mail: pixel, rewritten links, unsubscribe links."""

from __future__ import annotations

import base64
import os
import re
import zlib

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from webapp.database import new_id
from webapp.services.tracking import links as mail_links
from webapp.services.tracking import tokens

MESSAGE_ID = "0190f0e0a1b2c3d4e5f60718293a4b5c"


def _payload(token: str) -> bytes:
    """The readable part of a token, as anyone holding the mail could decode it."""
    body = token.rsplit(".", 1)[0].lstrip(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if token.startswith("."):
        raw = zlib.decompress(raw)
    return raw


def test_each_token_reads_back_only_for_its_own_purpose(app: Flask) -> None:
    open_token = tokens.open_token(MESSAGE_ID)
    unsubscribe_token = tokens.unsubscribe_token(MESSAGE_ID)
    click_token = tokens.click_token(MESSAGE_ID, "https://example.nl/")

    assert tokens.read_open_token(open_token) == MESSAGE_ID
    assert tokens.read_unsubscribe_token(unsubscribe_token) == MESSAGE_ID
    assert tokens.read_click_token(click_token) == (MESSAGE_ID, "https://example.nl/")

    # An open token never unsubscribes, and so on in every direction.
    assert tokens.read_unsubscribe_token(open_token) is None
    assert tokens.read_click_token(open_token) is None
    assert tokens.read_open_token(unsubscribe_token) is None
    assert tokens.read_click_token(unsubscribe_token) is None
    assert tokens.read_open_token(click_token) is None
    assert tokens.read_unsubscribe_token(click_token) is None


def test_a_bare_id_or_a_tampered_token_is_refused(app: Flask) -> None:
    token = tokens.open_token(MESSAGE_ID)
    assert tokens.read_open_token(MESSAGE_ID) is None
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert tokens.read_open_token(flipped) is None
    # Same signature, another message id in the payload.
    other = URLSafeSerializer("not-our-secret", salt="open").dumps(new_id())
    assert tokens.read_open_token(other.rsplit(".", 1)[0] + "." + token.rsplit(".", 1)[1]) is None


def test_a_token_signed_with_a_retired_secret_is_refused(app: Flask) -> None:
    old = URLSafeSerializer("the-secret-we-had-last-year", salt="unsubscribe").dumps(MESSAGE_ID)
    assert tokens.read_unsubscribe_token(old) is None


def test_a_secret_listed_in_the_fallbacks_still_verifies(app: Flask) -> None:
    old = URLSafeSerializer("the-secret-before-rotation", salt="open").dumps(MESSAGE_ID)
    app.config["SECRET_KEY_FALLBACKS"] = ["the-secret-before-rotation"]
    try:
        assert tokens.read_open_token(old) == MESSAGE_ID
    finally:
        app.config["SECRET_KEY_FALLBACKS"] = None


def test_tokens_carry_the_message_id_and_nothing_personal(app: Flask) -> None:
    for token in (tokens.open_token(MESSAGE_ID), tokens.unsubscribe_token(MESSAGE_ID)):
        assert _payload(token) == f'"{MESSAGE_ID}"'.encode()
        assert len(token) <= tokens.MAX_ID_TOKEN_LENGTH


def test_a_click_token_for_a_non_http_target_is_refused(app: Flask) -> None:
    for target in ("javascript:alert(1)", "//evil.example", "data:text/html,x", "https://a\r\nb"):
        forged = tokens._serializer(tokens.CLICK).dumps([MESSAGE_ID, target])
        assert tokens.read_click_token(forged) is None


def test_an_over_long_token_is_refused_before_it_is_verified(app: Flask) -> None:
    token = tokens.open_token(MESSAGE_ID)
    assert tokens.read_open_token(token + "A" * tokens.MAX_ID_TOKEN_LENGTH) is None
    assert tokens.read_click_token("x" * 100_000) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.one_of(st.text(), st.binary(), st.none(), st.integers(), st.lists(st.text())))
def test_garbage_is_never_a_token(app: Flask, garbage: object) -> None:
    assert tokens.read_open_token(garbage) is None
    assert tokens.read_click_token(garbage) is None
    assert tokens.read_unsubscribe_token(garbage) is None


# -- mail links ---------------------------------------------------------------------------


def _tracked_targets(html: str) -> list[str]:
    targets = []
    for token in re.findall(r'http://campaigns\.test/t/c/([^"]+)"', html):
        link = tokens.read_click_token(token)
        assert link is not None and link[0] == MESSAGE_ID
        targets.append(link[1])
    return targets


def test_the_pixel_and_unsubscribe_urls_are_on_the_public_base_url(app: Flask) -> None:
    pixel = mail_links.open_pixel_url(MESSAGE_ID)
    assert pixel.startswith("http://campaigns.test/t/o/") and pixel.endswith(".gif")
    assert tokens.read_open_token(pixel.rsplit("/", 1)[1].removesuffix(".gif")) == MESSAGE_ID
    unsubscribe = mail_links.unsubscribe_url(MESSAGE_ID)
    assert unsubscribe.startswith("http://campaigns.test/u/")
    assert tokens.read_unsubscribe_token(unsubscribe.rsplit("/", 1)[1]) == MESSAGE_ID
    tag = mail_links.pixel_tag(MESSAGE_ID)
    assert tag.startswith("<img ") and 'width="1"' in tag and 'alt=""' in tag
    assert f'src="{pixel}"' in tag


def test_the_mailto_unsubscribe_reads_back_from_the_subject_of_a_reply(app: Flask) -> None:
    mailto = mail_links.unsubscribe_mailto("punthelder-seo.nl", MESSAGE_ID)
    assert mailto.startswith("mailto:unsubscribe@punthelder-seo.nl?subject=unsubscribe-")
    subject = mailto.split("subject=", 1)[1]
    assert mail_links.message_id_from_unsubscribe_subject(subject) == MESSAGE_ID
    assert mail_links.message_id_from_unsubscribe_subject(f"Re: Fwd: {subject}") == MESSAGE_ID
    assert mail_links.message_id_from_unsubscribe_subject("unsubscribe-" + MESSAGE_ID) is None
    assert mail_links.message_id_from_unsubscribe_subject("") is None


def test_http_links_are_rewritten_and_everything_else_is_left_exactly(app: Flask) -> None:
    unsubscribe = mail_links.unsubscribe_url(MESSAGE_ID)
    # Each § marks an href value that must change; all the rest must not.
    rewritten = [
        "'https://www.example.nl/a?b=1&amp;c=2'",
        "http://plain.example/p",
        '"HTTPS://UPPER.example/"',
        '"https://first.example"',
        "'https://broken.example/'",
    ]
    template = (
        '<html><body><!-- <a href="http://in-a-comment.example/"> -->\n'
        "<p>Hallo <a class=x HREF = §>site</a>,\r\n"
        '<a href=§ title="t">plain</a>\n'
        '<a href="mailto:jan@example.nl">m</a> <a href="tel:+31201234567">t</a>'
        '<a href="#top">top</a> <a name="anchor">n</a> <a href="/relative">r</a>\n'
        f'<a href="{unsubscribe}">afmelden</a>'
        "<script>var s = '<a href=\"http://in-a-script.example\">';</script>\n"
        '<A HREF=§>up</A> <a href=§ href="https://second.example">dup</a>\n'
        '<img src="https://img.example/x.png">'
        "<table><tr><td><a href=§>unclosed cell</td></table></body></html>"
    )
    parts = template.split("§")
    html = "".join(part + value for part, value in zip(parts, [*rewritten, ""], strict=True))

    out = mail_links.rewrite_links(html, MESSAGE_ID)

    assert _tracked_targets(out) == [
        "https://www.example.nl/a?b=1&c=2",
        "http://plain.example/p",
        "HTTPS://UPPER.example/",
        "https://first.example",
        "https://broken.example/",
    ]
    assert re.sub(r'"http://campaigns\.test/t/c/[^"]+"', "§", out) == template
    assert "in-a-comment.example" in out and "in-a-script.example" in out


def test_a_link_too_long_for_a_request_line_stays_untracked(app: Flask) -> None:
    # Random, so that the token's compression cannot shrink it.
    long_url = "https://example.nl/?q=" + base64.urlsafe_b64encode(os.urandom(3000)).decode()
    html = f'<a href="{long_url}">lang</a>'
    assert mail_links.rewrite_links(html, MESSAGE_ID) == html


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    html=st.text(alphabet=st.sampled_from(list("<>a href=\"'/:htps.x&;!-\n\r\t é#")), max_size=200)
)
def test_rewriting_messy_markup_never_fails_and_keeps_text_without_links(
    app: Flask, html: str
) -> None:
    out = mail_links.rewrite_links(html, MESSAGE_ID)
    if "/t/c/" not in out:
        assert out == html
    for target in _tracked_targets(out):
        assert target.lower().startswith(("http://", "https://"))


@pytest.mark.parametrize("html", ["", "plain text", "<a>", "<a href>", "<a href=''>", "<<a"])
def test_rewriting_degenerate_markup_returns_it_unchanged(app: Flask, html: str) -> None:
    assert mail_links.rewrite_links(html, MESSAGE_ID) == html
