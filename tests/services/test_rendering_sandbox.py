"""Sandbox escapes and denial-of-service payloads: each is a clear RenderError, fast."""

from __future__ import annotations

import time

import pytest

from webapp.models import Lead
from webapp.services.mail.rendering import RenderError, StepDraft, render_step

# (id, template text, words the error must contain)
PAYLOADS: list[tuple[str, str, str]] = [
    ("subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "not allowed"),
    ("globals-via-self", "{{ self.__init__.__globals__ }}", "not available"),
    ("globals-via-macro", "{% macro m() %}{% endmacro %}{{ m.__globals__ }}", "not allowed"),
    ("class-of-a-lead-value", "{{ company.__class__.__base__ }}", "not allowed"),
    ("str-format", "{{ '{0.__class__.__init__.__globals__}'.format(company) }}", "not allowed"),
    ("str-format-map", "{{ '{a.__class__}'.format_map({'a': company}) }}", "not allowed"),
    ("format-filter", "{{ '%999999999d'|format(1) }}", "not allowed"),
    ("percent-format", "{{ '%999999999d' % 1 }}", "not allowed"),
    ("attr-filter", "{{ company|attr('__class__') }}", "not allowed"),
    ("config", "{{ config.SECRET_KEY }}", "not available"),
    ("config-items", "{{ config.items() }}", "not available"),
    ("lipsum", "{{ lipsum.__globals__['os'].popen('id').read() }}", "not available"),
    ("cycler", "{{ cycler.__init__.__globals__.os.environ }}", "not available"),
    ("joiner", "{{ joiner.__init__.__globals__ }}", "not available"),
    ("namespace", "{% set ns = namespace(x=1) %}{{ ns }}", "not available"),
    ("include-passwd", "{% include '/etc/passwd' %}", "include"),
    ("import", "{% import '/etc/passwd' as p %}", "import"),
    ("extends", "{% extends '/etc/passwd' %}", "extends"),
    ("autoescape-off", "{% autoescape false %}{{ company }}{% endautoescape %}", "autoescape"),
    ("huge-range", "{% for i in range(10**9) %}x{% endfor %}", "too much work"),
    (
        "nested-ranges",
        "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
        "{% endfor %}{% endfor %}{% endfor %}",
        "too much work",
    ),
    ("string-times-10-to-the-9", "{{ 'x' * 10**9 }}", "too much work"),
    ("list-times-10-to-the-9", "{{ [0] * 10**9 }}", "too much work"),
    ("huge-power", "{{ 9 ** 999999999 }}", "too much work"),
    ("center", "{{ company|center(999999999) }}", "too much work"),
    ("zfill", "{{ company.zfill(999999999) }}", "not allowed"),
    ("int-to-bytes", "{{ (1).to_bytes(999999999, 'big') }}", "not allowed"),
    ("replace-bomb", "{% set s = 'x' * 200000 %}{{ s|replace('x', s) }}", "too much work"),
    ("join-bomb", "{% set s = 'x' * 200000 %}{{ [s, s, s]|join }}", "too much work"),
    (
        "concat-doubling",
        "{% set s = 'x' * 200000 %}{% set t = s ~ s %}{{ t ~ t }}",
        "too much work",
    ),
    ("output-flood", "{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}", "too much work"),
    (
        "nested-loops-over-a-string",
        "{% set s = 'x' * 200000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        "too much work",
    ),
    ("macro-recursion", "{% macro f() %}{{ f() }}{{ f() }}{% endmacro %}{{ f() }}", "too much"),
    ("wordwrap", "{{ ('x' * 250000)|wordwrap(1) }}", "too much work"),
    ("list-mutation", "{% set l = [] %}{{ l.append(1) }}", "not allowed"),
    ("dunder-by-item", "{{ company['__class__'] }}", "not allowed"),
    ("dunder-by-computed-item", "{{ company['__cla' ~ 'ss__'] }}", "not allowed"),
]


def lead() -> Lead:
    return Lead(email="info@bakkerij-jansen.nl", company="Bakkerij Jansen", vars={})


@pytest.mark.parametrize(
    ("payload", "expected"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS]
)
def test_payload_in_the_html_body_is_a_clear_error_within_a_second(
    payload: str, expected: str
) -> None:
    step = StepDraft(1, "Hallo", f"<p>Beste lezer,</p>\n{payload}", "")
    started = time.perf_counter()
    with pytest.raises(RenderError) as caught:
        render_step(step, lead(), sender="Christian", unsubscribe_url="https://x.test/u/1")
    assert time.perf_counter() - started < 1.0
    error = caught.value
    assert expected in error.message
    assert error.part == "body_html"
    if "output" not in error.message and "macros" not in error.message:
        assert error.line == 2  # the whole output and a recursion have no single line
    for leak in ("<class '", "root:", "Traceback", "environ", "function "):
        assert leak not in error.message


@pytest.mark.parametrize(
    ("payload", "expected"), [p[1:] for p in PAYLOADS[:12]], ids=[p[0] for p in PAYLOADS[:12]]
)
def test_payload_in_the_subject_and_text_is_refused_too(payload: str, expected: str) -> None:
    for step in (StepDraft(1, payload, "<p>x</p>", ""), StepDraft(1, "Hoi", "", payload)):
        with pytest.raises(RenderError, match=expected):
            render_step(step, lead(), sender="Christian", unsubscribe_url="https://x.test/u/1")


def test_a_render_stops_on_its_deadline_however_the_work_is_spent() -> None:
    # Within every count limit, but seconds of work: the deadline ends it.
    busy = (
        "{% for i in range(1000) %}{% for j in range(19) %}"
        "{{ ((range(1000)|list) * 10)|sum }}{% endfor %}{% endfor %}"
    )
    started = time.perf_counter()
    with pytest.raises(RenderError, match=r"longer than 0\.5 s"):
        render_step(
            StepDraft(1, "Hoi", busy, ""), lead(), sender="C", unsubscribe_url="https://x.test/u"
        )
    assert time.perf_counter() - started < 1.0
