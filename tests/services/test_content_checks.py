"""Content warnings on a template step: each fires on a step that has the problem and
stays quiet on a clean one."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from webapp.services.mail import ContentCode, check_step

CLEAN: dict[str, str] = {
    "subject": "Vraag over de vindbaarheid van {{ company }}",
    "body_html": (
        "<p>Hallo {{ first_name | default('ondernemer') }},</p>"
        '<p>Ik keek naar <a href="{{ url }}">jullie website</a> en zag dat de pagina\'s over'
        " jullie diensten in Google lastig te vinden zijn. Zullen we daar eens kort over"
        " bellen? Ik laat graag zien wat er beter kan.</p>"
        "<p>Groet, Christian</p>"
        '<p><a href="{{ unsubscribe_url }}">Afmelden</a></p>'
    ),
    "body_text": (
        "Hallo {{ first_name | default('ondernemer') }},\n\nIk keek naar {{ url }} en zag dat"
        " de pagina's over jullie diensten lastig te vinden zijn. Zullen we kort bellen?\n\n"
        "Groet, Christian\n\nAfmelden: {{ unsubscribe_url }}\n"
    ),
}
LINKS = "".join(f'<a href="https://voorbeeld.nl/{n}">link {n}</a> ' for n in range(4))


def step(**changes: str) -> dict[str, str]:
    return {**CLEAN, **changes}


def codes(parts: dict[str, str], mail_number: int = 1) -> list[str]:
    return [warning.code for warning in check_step(mail_number, **parts)]


BAD_STEPS: list[tuple[ContentCode, dict[str, str]]] = [
    (ContentCode.SPAM_PHRASES, step(subject="100% gratis SEO-scan voor {{ company }}")),
    (ContentCode.SPAM_PHRASES, step(body_text=CLEAN["body_text"] + "Klik hier!")),
    (ContentCode.SPAM_PHRASES, step(body_html=CLEAN["body_html"] + "<p>Act now, it is FREE</p>")),
    (ContentCode.SPAM_PHRASES, step(subject="Geen kosten, wel resultaat")),
    (ContentCode.SPAM_PHRASES, step(subject="Meer omzet $$$")),
    (ContentCode.TOO_MANY_LINKS, step(body_html=CLEAN["body_html"] + LINKS)),
    (
        ContentCode.TOO_MANY_LINKS,
        step(
            body_html="",
            body_text=CLEAN["body_text"] + " ".join(f"https://voorbeeld.nl/{n}" for n in range(4)),
        ),
    ),
    (ContentCode.URL_SHORTENER, step(body_html='<a href="https://bit.ly/3abc">kijk</a>')),
    (ContentCode.URL_SHORTENER, step(body_text=CLEAN["body_text"] + "Zie t.co/xyz")),
    (ContentCode.URL_SHORTENER, step(body_text=CLEAN["body_text"] + "https://tinyurl.com/a")),
    (
        ContentCode.IMAGE_HEAVY,
        step(body_html='<img src="https://cdn.voorbeeld.nl/aanbod.png"><p>Bekijk ons aanbod</p>'),
    ),
    (ContentCode.IMAGE_HEAVY, step(body_html='<a href="{{ url }}"><IMG SRC="x.png"></a>')),
    (ContentCode.NO_TEXT_PART, step(body_text="")),
    (ContentCode.NO_TEXT_PART, step(body_text="  \n ")),
    (ContentCode.NO_UNSUBSCRIBE_LINE, step(body_html="<p>Hallo {{ company }}</p>")),
    (ContentCode.NO_UNSUBSCRIBE_LINE, step(body_text="Hallo {{ company }}, tot ziens.")),
]


@pytest.mark.parametrize(("code", "parts"), BAD_STEPS, ids=[str(c) for c, _ in BAD_STEPS])
def test_each_warning_fires_on_a_step_with_the_problem(
    code: ContentCode, parts: dict[str, str]
) -> None:
    assert code in codes(parts)


@pytest.mark.parametrize("code", list(ContentCode))
def test_no_warning_fires_on_a_clean_step(code: ContentCode) -> None:
    assert code not in codes(CLEAN)


CLOSE_CALLS: list[tuple[ContentCode, dict[str, str]]] = [
    # Words that only contain a trigger are not the trigger.
    (
        ContentCode.SPAM_PHRASES,
        step(subject="Freelancers en gratisfolders", body_text=CLEAN["body_text"] + "winnaars"),
    ),
    # Three links and the unsubscribe link are three links.
    (
        ContentCode.TOO_MANY_LINKS,
        step(
            body_html="".join(f'<a href="https://v.nl/{n}">{n}</a>' for n in range(3))
            + CLEAN["body_html"][-60:]
        ),
    ),
    # A host that merely starts like a shortener's.
    (
        ContentCode.URL_SHORTENER,
        step(body_text=CLEAN["body_text"] + "https://t.company.nl https://nobit.ly.nl"),
    ),
    # An image beside a real message.
    (
        ContentCode.IMAGE_HEAVY,
        step(body_html='<img src="logo.png" alt="">' + CLEAN["body_html"]),
    ),
    # The unsubscribe link as a variable anywhere in each written part.
    (ContentCode.NO_UNSUBSCRIBE_LINE, step(body_text="", body_html=CLEAN["body_html"])),
]


@pytest.mark.parametrize(("code", "parts"), CLOSE_CALLS, ids=[str(c) for c, _ in CLOSE_CALLS])
def test_a_close_call_is_no_warning(code: ContentCode, parts: dict[str, str]) -> None:
    assert code not in codes(parts)


def test_a_warning_names_its_step_and_what_to_do_in_the_readers_language(app: Flask) -> None:
    bad = step(subject="Klik hier voor 100% gratis advies", body_text="")
    found = {w.code: w for w in check_step(3, **bad)}
    spam = found[ContentCode.SPAM_PHRASES].to_dict()
    assert spam["mail_number"] == 3 and spam["code"] == "spam_phrases"
    # "100% gratis" found once, not "gratis" again inside it.
    assert (
        "“klik hier”, “100% gratis”" in spam["message"]
        or "“100% gratis”, “klik hier”" in spam["message"]
    )
    assert "“gratis”" not in spam["message"]
    with force_locale("nl"):
        dutch: dict[str, Any] = found[ContentCode.NO_TEXT_PART].to_dict()
    assert dutch["message"].startswith("Geen tekstversie")
