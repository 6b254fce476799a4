"""Spintax: `{Hallo|Hoi}` in a mail's texts, one version per lead and step, in the sandbox."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import make_lead, make_template
from webapp.models import Lead
from webapp.services.mail import spin_versions
from webapp.services.mail.rendering import (
    RenderError,
    RenderProblem,
    StepDraft,
    preview_steps,
    render_preview,
    render_step,
)
from webapp.services.mail.spintax import MAX_ALTERNATIVES, MAX_DEPTH, MAX_GROUPS, read


def _lead(number: int = 0) -> Lead:
    return Lead(
        id=f"lead-{number:04d}",
        email=f"jan{number}@bakkerij.nl",
        company="Bakkerij Jansen",
        domain="bakkerij.nl",
        vars={"first_name": "Jan"},
    )


def _render(subject: str, body: str = "Tekst", lead: Lead | None = None, number: int = 1) -> Any:
    return render_step(
        StepDraft(number, subject, "", body),
        lead or _lead(),
        sender="Christian",
        unsubscribe_url="https://campaigns.test/u/x",
    )


def _versions(source: str) -> set[str]:
    """Every text the source can become, through the editor's version numbers."""
    step = StepDraft(1, source, "", "Tekst")
    return {
        preview_steps([step], {"first_name": "Jan"}, 1, spin=number).subject
        for number in range(spin_versions(step))
    }


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{Hallo|Hoi|Goedemiddag} Jan", {"Hallo Jan", "Hoi Jan", "Goedemiddag Jan"}),
        ("{Hallo|Hoi} {{ first_name }}", {"Hallo Jan", "Hoi Jan"}),
        ("{Hoi {{ first_name|upper }}|Dag}", {"Hoi JAN", "Dag"}),
        ("{a|{b|c}|d}", {"a", "b", "c", "d"}),
        ("{a|b} {c|d}", {"a c", "b c", "a d", "b d"}),
        ("Prijs {in euro}", {"Prijs {in euro}"}),  # no | at its level: plain text
        ("{x {y|z} w}", {"{x y w}", "{x z w}"}),
        ("{a|b", {"{a|b"}),  # never closed: plain text
        ("{{ first_name|lower }}", {"jan"}),  # Jinja's own braces are never spintax
        ("{|leeg}", {"", "leeg"}),
    ],
)
def test_every_version_of_a_text_can_be_shown(app: Flask, source: str, expected: set[str]) -> None:
    if "" in expected:
        step = StepDraft(1, source, "", "Tekst")
        assert spin_versions(step) == 2
        return  # an empty subject is refused, which another test covers
    assert _versions(source) == expected
    assert spin_versions(StepDraft(1, source, "", "Tekst")) == len(expected)


def test_a_lead_keeps_its_version_and_leads_spread_over_all(app: Flask) -> None:
    subject = "{Hallo|Hoi|Goedemiddag} Jan"
    seen = Counter(_render(subject, lead=_lead(n)).subject for n in range(600))
    assert set(seen) == {"Hallo Jan", "Hoi Jan", "Goedemiddag Jan"}
    assert min(seen.values()) > 600 / 3 * 0.7  # each about a third
    for number in (1, 7, 42):
        assert (
            _render(subject, lead=_lead(number)).subject
            == _render(subject, lead=_lead(number)).subject
        )


def test_the_version_depends_on_the_lead_and_the_mail_number(app: Flask) -> None:
    subject = "{a|b|c|d|e|f|g|h}"
    first = [_render(subject, lead=_lead(n), number=1).subject for n in range(40)]
    second = [_render(subject, lead=_lead(n), number=2).subject for n in range(40)]
    assert first != second


def test_a_follow_up_answers_the_subject_the_lead_received(app: Flask) -> None:
    template = make_template(steps=2)
    first, second = template.steps
    first.subject = "{Vraag|Idee|Voorstel} voor {{ company }}"
    second.subject = ""
    subjects = set()
    for _ in range(30):
        lead = make_lead(company="Bakkerij Jansen")
        received = render_preview(template, lead, 1).subject
        assert render_preview(template, lead, 2).subject == f"Re: {received}"
        subjects.add(received)
    assert len(subjects) == 3


def test_html_and_text_with_the_same_groups_choose_alike(app: Flask) -> None:
    step = StepDraft(1, "Onderwerp", "<p>{Hallo|Hoi|Dag} Jan</p>", "{Hallo|Hoi|Dag} Jan")
    for number in range(30):
        mail = render_step(step, _lead(number), sender="C", unsubscribe_url="https://x.test/u")
        greeting = mail.text.split()[0]
        assert f"<p>{greeting} Jan</p>" in mail.html


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{a|" * (MAX_DEPTH + 1) + "x" + "}" * (MAX_DEPTH + 1), "nested deeper"),
        ("{a|b}" * (MAX_GROUPS + 1), "at most"),
        ("{" + "|".join("x" * (MAX_ALTERNATIVES + 1)) + "}", "at most"),
    ],
)
def test_spintax_past_its_limits_is_refused_with_the_line(
    app: Flask, source: str, words: str
) -> None:
    with pytest.raises(RenderError) as refused:
        _render("Onderwerp", body="regel 1\n" + source)
    assert words in refused.value.message
    assert refused.value.kind == RenderProblem.SYNTAX
    assert refused.value.line == 2
    assert refused.value.part == "body_text"


def test_the_sandbox_holds_inside_every_alternative(app: Flask) -> None:
    def preview(body: str, version: int) -> Any:
        return preview_steps([StepDraft(1, "Onderwerp", "", body)], {}, 1, spin=version)

    # What the sandbox refuses as written is refused whichever version is chosen...
    for version in range(2):
        with pytest.raises(RenderError) as refused:
            preview("{kort|{{ ''.__class__ }}}", version)
        assert refused.value.kind == RenderProblem.SYNTAX
    # ...and its limits stop the version that would break them.
    assert preview("{kort|{{ 'x' * 10000000 }}}", 0).text.startswith("kort")
    with pytest.raises(RenderError) as refused:
        preview("{kort|{{ 'x' * 10000000 }}}", 1)
    assert refused.value.kind == RenderProblem.LIMIT


def test_a_text_of_braces_reads_in_one_pass(app: Flask) -> None:
    # Sixty thousand unclosed braces: reading each to its end would take minutes.
    assert read("{" * 60000 + "|").sizes == ()
    assert read("{a|" * 5 + "}" * 5).sizes == (2, 2, 2, 2, 2)


@given(
    st.lists(
        st.lists(st.text("abc ", min_size=0, max_size=3), min_size=2, max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_the_number_of_versions_is_what_the_groups_multiply_to(
    groups: list[list[str]],
) -> None:
    source = " ".join("{" + "|".join(group) + "}" for group in groups)
    spun = read(source)
    count = 1
    for group in groups:
        count *= len(group)
    assert spun.versions == count
    assert spun.sizes == tuple(len(group) for group in groups)


def test_a_text_part_with_its_own_groups_counts_and_previews_every_version(app: Flask) -> None:
    step = StepDraft(1, "Hoi", "<p>Beste {klant|lezer}</p>", "{Hallo|Hoi|Hey} klant")
    assert spin_versions(step) == 6  # the HTML's 2 times the text's 3: they choose apart
    shown = {
        (
            preview_steps([step], {}, 1, spin=number).html.split("Beste ")[1][:5],
            preview_steps([step], {}, 1, spin=number).text.split()[0],
        )
        for number in range(6)
    }
    assert len(shown) == 6
    # With the same groups in both parts they choose alike and count once.
    alike = StepDraft(1, "Hoi", "<p>{Hallo|Hoi|Hey} klant</p>", "{Hallo|Hoi|Hey} klant")
    assert spin_versions(alike) == 3
    text_only = StepDraft(1, "Hoi", "<p>Beste klant</p>", "{Hallo|Hoi|Hey} klant")
    assert spin_versions(text_only) == 3
    assert {preview_steps([text_only], {}, 1, spin=n).text.split()[0] for n in range(3)} == {
        "Hallo",
        "Hoi",
        "Hey",
    }


def test_a_raw_block_is_text_as_written_never_spintax(app: Flask) -> None:
    mail = _render("Onderwerp", body="{% raw %}{a|b}{% endraw %} en {c|c}")
    assert mail.text.startswith("{a|b} en c")
    assert "_spin" not in mail.text
