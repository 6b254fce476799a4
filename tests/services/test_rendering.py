"""Rendering a step for a lead: variables, escaping, subjects, the text part, unsubscribe lines."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import make_lead, make_template
from webapp.demo.seed import template_steps
from webapp.models import Lead, Template, TemplateStep
from webapp.services.mail.rendering import (
    PREVIEW_UNSUBSCRIBE_URL,
    RenderedMail,
    RenderError,
    StepDraft,
    lead_context,
    render_preview,
    render_step,
    required_variables_in,
    template_required_variables,
    template_variables,
    variables_in,
)

UNSUBSCRIBE = "https://campaigns.test/u/abc?x=1&y=2"


def lead(**overrides: Any) -> Lead:
    values: dict[str, Any] = {
        "email": "info@bakkerij-jansen.nl",
        "company": "Bakkerij Jansen",
        "url": "https://www.bakkerij-jansen.nl",
        "domain": "bakkerij-jansen.nl",
        "vars": {"first_name": "Jan", "branche": "bakkerijbranche"},
    }
    values.update(overrides)
    return Lead(**values)


def render(step: StepDraft, the_lead: Lead | None = None, **kwargs: Any) -> RenderedMail:
    return render_step(
        step, the_lead or lead(), sender="Christian", unsubscribe_url=UNSUBSCRIBE, **kwargs
    )


def test_lead_values_fill_the_subject_html_and_text() -> None:
    mail = render(
        StepDraft(
            1,
            "Vindbaarheid van {{ company }}",
            "<p>Beste {{ first_name }}</p>",
            "Beste {{ first_name }}, groet {{ sender }}",
        )
    )
    assert mail.subject == "Vindbaarheid van Bakkerij Jansen"
    assert "<p>Beste Jan</p>" in mail.html
    assert mail.text.startswith("Beste Jan, groet Christian")


def test_columns_win_over_vars_of_the_same_name_unless_empty() -> None:
    the_lead = lead(
        company="Jansen B.V.", url=None, vars={"company": "oud", "url": "https://oud.nl"}
    )
    context = lead_context(the_lead)
    assert context["company"] == "Jansen B.V."
    assert context["url"] == "https://oud.nl"
    assert context["email"] == "info@bakkerij-jansen.nl"


def test_a_lead_value_with_html_is_escaped_in_html_and_kept_in_text() -> None:
    the_lead = lead(company='<script>alert("x")</script> & Zn')
    mail = render(
        StepDraft(1, "Voor {{ company }}", "<p>{{ company }}</p>", "{{ company }}"), the_lead
    )
    assert "<script>" not in mail.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Zn" in mail.html
    assert mail.text.startswith('<script>alert("x")</script> & Zn')
    assert mail.subject == 'Voor <script>alert("x")</script> & Zn'


def test_template_syntax_inside_a_lead_value_stays_literal() -> None:
    the_lead = lead(vars={"first_name": "{{ 7*7 }}{% for x in range(3) %}y{% endfor %}"})
    mail = render(
        StepDraft(1, "Hoi {{ first_name }}", "<p>{{ first_name }}</p>", "{{ first_name }}"),
        the_lead,
    )
    assert mail.subject == "Hoi {{ 7*7 }}{% for x in range(3) %}y{% endfor %}"
    assert "49" not in mail.html and "{{ 7*7 }}" in mail.html
    assert "{{ 7*7 }}" in mail.text


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_or_empty_variable_blocks_rendering_and_is_named(value: Any) -> None:
    variables: dict[str, Any] = {"branche": "bouw"}
    if value is not None:
        variables["first_name"] = value
    with pytest.raises(RenderError) as caught:
        render(
            StepDraft(1, "Hoi {{ first_name }}", "<p>{{ branche }} {{ city }}</p>", ""),
            lead(vars=variables),
        )
    assert caught.value.missing == ["city", "first_name"]
    assert "city" in caught.value.message and "first_name" in caught.value.message


def test_a_variable_used_only_with_a_default_or_a_test_may_be_missing() -> None:
    step = StepDraft(
        1,
        "Hoi {{ first_name|default('daar') }}",
        "<p>{% if city %}in {{ city }}{% else %}bij u{% endif %}</p>",
        "",
    )
    mail = render(step, lead(vars={}))
    assert mail.subject == "Hoi daar"
    assert "bij u" in mail.html


@pytest.mark.parametrize("subject", ["Hoi\r\nBcc: x@evil.test", "Hoi\nx", "Hoi\rx", "a\u2028b"])
def test_a_subject_with_a_line_break_is_refused(subject: str) -> None:
    with pytest.raises(RenderError, match="one line"):
        render(StepDraft(1, subject, "<p>x</p>", ""))


def test_a_line_break_from_a_lead_value_in_the_subject_is_refused() -> None:
    with pytest.raises(RenderError, match="one line") as caught:
        render(StepDraft(1, "{{ company }}", "<p>x</p>", ""), lead(company="A\r\nBcc: x@evil.test"))
    assert caught.value.part == "subject"


def test_an_empty_follow_up_subject_takes_the_fallback() -> None:
    mail = render(StepDraft(2, "", "<p>Nog even</p>", ""), subject_fallback="Re: Vindbaarheid")
    assert mail.subject == "Re: Vindbaarheid"
    with pytest.raises(RenderError, match="no subject"):
        render(StepDraft(2, "", "<p>Nog even</p>", ""))


def test_a_non_ascii_subject_survives_a_real_mail_header() -> None:
    mail = render(
        StepDraft(1, "Één vraag voor {{ company }} 🚀", "<p>x</p>", ""), lead(company="Café Zoë")
    )
    message = EmailMessage()
    message["Subject"] = mail.subject
    message.set_content(mail.text)
    raw = message.as_bytes()
    assert b"=?utf-8?" in raw
    assert "Zoë".encode() not in raw.split(b"\n\n", 1)[0]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Één vraag voor Café Zoë 🚀"


def test_the_text_part_is_made_from_the_html_when_left_empty() -> None:
    html = (
        "<html><head><style>p { color: red }</style></head><body>"
        '<p>Beste {{ first_name }},</p><p>Zie <a href="{{ url }}">{{ url }}</a> en '
        '<a href="https://www.punthelder.nl/scan">onze scan</a>.<br>Groet</p>'
        "<script>alert(1)</script></body></html>"
    )
    mail = render(StepDraft(1, "Hoi", html, ""))
    assert mail.text.startswith(
        "Beste Jan,\n\nZie https://www.bakkerij-jansen.nl en onze scan "
        "(https://www.punthelder.nl/scan).\nGroet\n"
    )
    assert "color" not in mail.text and "alert" not in mail.text and "<" not in mail.text


def test_every_mail_ends_with_an_unsubscribe_line_when_the_template_has_none() -> None:
    mail = render(StepDraft(1, "Hoi", "<html><body><p>Hallo</p></body></html>", "Hallo"))
    assert mail.html.index("Afmelden") < mail.html.index("</body>")
    assert 'href="https://campaigns.test/u/abc?x=1&amp;y=2"' in mail.html
    assert mail.text.rstrip().endswith(f"Afmelden: {UNSUBSCRIBE}")


def test_a_template_with_its_own_unsubscribe_link_gets_no_second_one() -> None:
    mail = render(
        StepDraft(
            1,
            "Hoi",
            '<p>Hallo</p><p><a href="{{ unsubscribe_url }}">Uitschrijven</a></p>',
            "Hallo\nUitschrijven: {{ unsubscribe_url }}",
        )
    )
    assert "Afmelden" not in mail.html and "Uitschrijven" in mail.html
    assert "Afmelden" not in mail.text and mail.text.count(UNSUBSCRIBE) == 1


def test_a_text_only_step_gets_an_html_part_too() -> None:
    mail = render(StepDraft(1, "Hoi", "", "Beste {{ first_name }},\n\n<b>niet vet</b>"))
    assert "<p>Beste Jan,</p>" in mail.html
    assert "&lt;b&gt;niet vet&lt;/b&gt;" in mail.html


def test_syntax_errors_name_the_part_and_line() -> None:
    with pytest.raises(RenderError) as caught:
        render(StepDraft(1, "Hoi", "<p>een</p>\n<p>twee</p>\n{% if company %}", ""))
    assert caught.value.line == 3
    assert caught.value.part == "body_html"
    assert caught.value.message.startswith("HTML body, line 3:")


def test_unknown_filters_are_refused_with_their_line() -> None:
    with pytest.raises(RenderError, match="filter 'shout' does not exist") as caught:
        render(StepDraft(1, "Hoi", "<p>x</p>\n{{ company|shout }}", ""))
    assert caught.value.line == 2


@given(value=st.text(max_size=60))
def test_any_lead_value_renders_escaped_and_never_as_template_code(value: str) -> None:
    the_lead = lead(vars={"first_name": value, "branche": "x"})
    step = StepDraft(1, "Hoi", "<p>{{ first_name }}</p>", "{{ first_name }}")
    if not value.strip():
        with pytest.raises(RenderError):
            render(step, the_lead)
        return
    mail = render(step, the_lead)
    assert f"<p>{escape_html(value)}</p>" in mail.html
    assert mail.text.startswith(value.strip())


def escape_html(value: str) -> str:
    from markupsafe import escape

    return str(escape(value))


def test_template_variables_lists_lead_variables_only() -> None:
    template = Template(name="t")
    template.steps = [
        TemplateStep(
            mail_number=1,
            subject="{{ company }} {{ sender }}",
            body_html="{% for x in range(2) %}{{ loop.index }}{{ x }}{% endfor %}{{ url }}"
            "{% set local = 1 %}{{ local }}<a href='{{ unsubscribe_url }}'>{{ tracking }}</a>",
            body_text="{{ first_name }} {% if branche is defined %}{{ branche }}{% endif %}",
        )
    ]
    assert template_variables(template) == {"company", "url", "first_name", "branche"}


# (template text, the variables a lead must have for it)
FALLBACKS: list[tuple[str, set[str]]] = [
    ('Beste {{ first_name | default("ondernemer") }}', set()),
    ('Beste {{ first_name|d("ondernemer")|title }}', set()),
    ("{% if first_name %}Beste {{ first_name }}{% else %}Beste ondernemer{% endif %}", set()),
    ("{% if not first_name %}Beste ondernemer{% else %}Beste {{ first_name }}{% endif %}", set()),
    ("{% if first_name is defined %}Beste {{ first_name }}{% endif %}", set()),
    ("{% if first_name is none %}Beste ondernemer{% endif %}", set()),
    ("{% if first_name and branche %}{{ first_name }} uit de {{ branche }}{% endif %}", set()),
    ('Beste {{ first_name or "ondernemer" }}', set()),
    ('Beste {{ first_name if first_name else "ondernemer" }}', set()),
    ('{% for first_name in ["a"] %}{{ first_name }}{% endfor %}{{ branche|d("") }}', set()),
    ("{{ company }} {{ url }} {{ sender }} {{ unsubscribe_url }}", {"company", "url"}),
    ('Beste {{ first_name }}{{ first_name|default("") }}', {"first_name"}),
    ("{% if first_name %}Beste{% else %}Beste {{ first_name }}{% endif %}", {"first_name"}),
    ("{% if branche %}Beste {{ first_name }}{% endif %}", {"first_name"}),
    ("{% if first_name or branche %}Beste {{ first_name }}{% endif %}", {"first_name"}),
    ('Beste {{ first_name|title|default("ondernemer") }}', {"first_name"}),
    ('{% if first_name == "Jan" %}Hoi Jan{% endif %}', {"first_name"}),
]


@pytest.mark.parametrize(("source", "required"), FALLBACKS)
def test_required_variables_are_those_used_at_least_once_without_a_fallback(
    source: str, required: set[str]
) -> None:
    assert required_variables_in([source]) == required
    assert required <= variables_in([source])


@pytest.mark.parametrize(("source", "required"), FALLBACKS)
def test_a_lead_lacking_a_variable_gets_the_mail_exactly_when_it_is_not_required(
    source: str, required: set[str]
) -> None:
    names = variables_in([source])
    for name in names:
        the_lead = lead(
            company=None, url=None, vars={other: "ja" for other in names if other != name}
        )
        step = StepDraft(1, "Onderwerp", f"<p>{source}</p>", "")
        if name in required:
            with pytest.raises(RenderError) as caught:
                render(step, the_lead)
            assert caught.value.missing == [name]
        else:
            render(step, the_lead)


def test_texts_that_do_not_compile_require_nothing() -> None:
    assert required_variables_in(["{{ first_name", "{{ first_name|shout }}", ""]) == set()


def test_a_lead_without_first_name_gets_the_fallback() -> None:
    step = StepDraft(
        1,
        'Hoi {{ first_name | d("ondernemer") }}',
        '<p>Beste {{ first_name | default("ondernemer") }},</p>',
        "",
    )
    for vars_ in ({}, {"first_name": "  "}):
        mail = render(step, lead(vars=vars_))
        assert mail.subject == "Hoi ondernemer"
        assert "<p>Beste ondernemer,</p>" in mail.html
    assert render(step).subject == "Hoi Jan"


def test_a_template_requires_what_any_of_its_steps_uses_without_a_fallback() -> None:
    template = Template(name="t")
    template.steps = [
        TemplateStep(
            mail_number=1,
            subject='{{ company }} voor {{ first_name|default("u") }}',
            body_html="{% if branche %}{{ branche }}{% endif %}",
            body_text="",
        ),
        TemplateStep(mail_number=2, subject="", body_html="{{ first_name }}", body_text=""),
    ]
    assert template_required_variables(template) == {"company", "first_name"}
    assert template_variables(template) == {"company", "first_name", "branche"}


def test_the_demo_template_renders_for_a_demo_lead(app: Flask) -> None:
    template = make_template(steps=0, name="demo")
    template.steps = [TemplateStep(**step) for step in template_steps()]
    the_lead = make_lead(
        vars={
            "company": "Bakkerij Jansen",
            "url": "https://www.jansen.nl",
            "first_name": "Jan",
            "branche": "bakkerijbranche",
        }
    )
    assert template_variables(template) == {"company", "url", "first_name", "branche"}
    subjects = [render_preview(template, the_lead, n).subject for n in (1, 2, 3, 4)]
    first = f"Vindbaarheid van {the_lead.company} in Google"
    assert subjects == [
        first,
        f"Re: {first}",
        f"Gratis quickscan voor {the_lead.company}",
        f"Re: {first}",
    ]
    mail = render_preview(template, the_lead, 3)
    assert PREVIEW_UNSUBSCRIBE_URL in mail.html and PREVIEW_UNSUBSCRIBE_URL in mail.text
    assert "{{" not in mail.html + mail.text
