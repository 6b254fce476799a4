"""Sandbox escapes and denial-of-service payloads: each is a clear RenderError.

Each names the limit that stopped it, so none ran on until the render's deadline (that
answer reads "took longer than 0.5 s"); the wall clock itself is not asserted."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.models import Lead
from webapp.services.mail.rendering import RenderError, RenderProblem, StepDraft, render_step


# (id, template text, words the error must contain)
def ungrouped(text: str) -> str:
    """Text with its digit grouping taken out: "10.000" and "10,000" read alike, so a
    limit's message matches in whichever language it was formatted."""
    return re.sub(r"(?<=\d)[.,\u202f\u00a0](?=\d{3})", "", text)


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
    # One built-in operation (in C, so no deadline stops it) over a value that is small in
    # memory but huge to walk: each is refused by its size before the work is done.
    (
        "sum-of-a-repeated-list",
        "{% set l = range(1000)|list %}{{ ([l] * 3000)|sum(start=[])|length }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "comparing-nested-repetitions",
        "{% set a = range(1000)|list %}{% set b = range(1000)|list %}"
        "{{ [[a] * 3000] * 3000 == [[b] * 3000] * 3000 }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "ordering-nested-repetitions",
        "{% set a = range(1000)|list %}{% set b = range(1000)|list %}"
        "{{ [[a] * 3000] * 3000 < [[b] * 3000] * 3000 }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "in-of-nested-repetitions",
        "{% set a = range(1000)|list %}{% set b = range(1000)|list %}"
        "{{ [[a] * 3000] * 3000 in [[[b] * 3000] * 3000] }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "doubling-literals-in-a-recursive-macro",
        "{% macro f(x, y, n) %}{% if n %}{{ f([x, x], [y, y], n - 1) }}"
        "{% else %}{{ x == y }}{% endif %}{% endmacro %}{{ f([1], [1], 40) }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "dict-of-a-repeated-list",
        "{% set l = range(1000)|list %}{{ {'a': [l] * 9000}|string|length }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "list-of-big-strings-printed",
        "{% set s = 'x' * 200000 %}{{ [s] * 10000 }}",
        "would make more than 262,144 characters",
    ),
    (
        "map-center",
        "{{ range(1000)|map('center', 100000)|list|length }}",
        "would make more than 262,144 characters",
    ),
    (
        "nested-map-chain",
        "{{ (['x'] * 1000)|map('replace', 'x', 'x' * 200000)|map('upper')|list|length }}",
        "would make more than 262,144 characters",
    ),
    (
        "map-sort-unique-chain",
        "{% set l = range(1000)|list %}"
        "{{ ([l] * 300)|map('list')|map('sort')|map('unique')|map('list')|list|length }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "set-block-of-output",
        "{% set s = 'x' * 200000 %}{% set b %}{% for i in range(1000) %}{{ s }}{% endfor %}"
        "{% endset %}{{ b|length }}",
        "a block of output would make more than",
    ),
    (
        "macro-output",
        "{% set s = 'x' * 200000 %}{% macro m() %}{% for i in range(1000) %}{{ s }}{% endfor %}"
        "{% endmacro %}{{ m()|length }}",
        "a block of output would make more than",
    ),
    ("title-word-by-word", "{{ ('ab ' * 6000)|title }}", "title takes at most 16.384"),
    ("urlize-word-by-word", "{{ ('ab ' * 6000)|urlize }}", "urlize takes at most 16.384"),
    (
        "views-of-a-big-dict",
        "{% set d = {" + ", ".join(f"{i}: {i}" for i in range(4000)) + "} %}"
        "{{ [d.items()] * 2000 == [d.items()] * 2000 }}",
        "would make a list of more than 10,000 items",
    ),
    (
        "big-number-products",
        "{% set x = 3 ** 500 %}{% set y = x * x * x * x %}{% set z = y * y * y * y %}"
        "{{ (z * z * z * z) % 7 }}",
        "too large a number",
    ),
    # Thousands of brackets or braces inside each other: the parser recurses once a level.
    ("nested-braces", "{" * 1000 + "a|b" + "}" * 1000, "nested too deeply"),
    ("nested-brackets", "{{ " + "[" * 2000 + " }}", "nested too deeply"),
    ("nested-parentheses", "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}", "nested too deeply"),
    ("many-spintax-choices", "{a|b|c|d|e|f|g|h|i|j} " * 21, "spintax choices"),
]


def lead() -> Lead:
    return Lead(email="info@bakkerij-jansen.nl", company="Bakkerij Jansen", vars={})


@pytest.mark.parametrize(
    ("payload", "expected"), [p[1:] for p in PAYLOADS], ids=[p[0] for p in PAYLOADS]
)
def test_payload_in_the_html_body_is_a_clear_error(payload: str, expected: str) -> None:
    step = StepDraft(1, "Hallo", f"<p>Beste lezer,</p>\n{payload}", "")
    with pytest.raises(RenderError) as caught:
        render_step(step, lead(), sender="Christian", unsubscribe_url="https://x.test/u/1")
    error = caught.value
    assert ungrouped(expected) in ungrouped(error.message)
    assert error.part == "body_html"
    no_line = ("the output", "macros", "nested too deeply")
    if not any(words in error.message for words in no_line):
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
    with pytest.raises(RenderError, match=r"longer than 0[.,]5 s"):
        render_step(
            StepDraft(1, "Hoi", busy, ""), lead(), sender="C", unsubscribe_url="https://x.test/u"
        )


# Ways to build a value past a limit (l: 1,000 numbers, s: 200,000 characters) ...
OVERSIZED = {
    "repeated-list": "[l] * 11",
    "listed-literal": "[l, l, l, l, l, l, l, l, l, l, l]",
    "joined-lists": "l + l + l + l + l + l + l + l + l + l + l",
    "nested-repetition": "[[l] * 4] * 3",
    "strings-in-a-list": "[s, s]",
    "dict-of-strings": "{'a': s, 'b': s}",
    "tuple-of-lists": "(l, l, l, l, l, l, l, l, l, l, l)",
    "mapped-strings": "range(1000)|map('center', 300)|list",
    "summed-lists": "[[l] * 6, [l] * 6]|sum(start=[])",
}
# ... and what could be done with it: none of these ever starts.
CONSUMERS = {
    "printed": "{{ v }}",
    "compared": "{{ v == v|list }}",
    "contained": "{{ v in [v] }}",
    "as-text": "{{ v|string|length }}",
    "sorted": "{{ v|list|sort|length }}",
    "joined": "{{ v|join|length }}",
}


@pytest.mark.parametrize("consumer", CONSUMERS.values(), ids=CONSUMERS.keys())
@pytest.mark.parametrize("builder", OVERSIZED.values(), ids=OVERSIZED.keys())
def test_a_value_past_the_limits_is_refused_when_it_is_built(builder: str, consumer: str) -> None:
    template = (
        "{% set l = range(1000)|list %}{% set s = 'x' * 200000 %}"
        f"{{% set v = {builder} %}}{consumer}"
    )
    with pytest.raises(RenderError) as caught:
        render_step(
            StepDraft(1, "Hoi", template, ""), lead(), sender="C", unsubscribe_url="https://x.test"
        )
    assert caught.value.kind == RenderProblem.LIMIT
    assert "would make" in caught.value.message


# Steps that build a value from a smaller one; `{0}` is the smaller one.
GROWTH = st.sampled_from(
    [
        "[{0}, {0}]",
        "[{0}] * 10",
        "({0}|list) * 3",
        "({0}|list) + ({0}|list)",
        "[{0}|list, {0}|list]|sum(start=[])",
        "[{0}]|map('list')|list",
        "({0}, {0}, {0})",
        "{{'a': {0}, 'b': {0}}}",
    ]
)
SEEDS = st.sampled_from(["range(1000)|list", "[1]", "['x' * 1000]", "['ab', 'cd']"])


@settings(max_examples=150, deadline=None)
@given(seed=SEEDS, steps=st.lists(GROWTH, min_size=1, max_size=16))
def test_whatever_a_template_builds_it_can_compare_with_an_equal_copy(
    seed: str, steps: list[str]
) -> None:
    # Two equal values built apart: comparing them walks every item, shared ones included.
    template = ""
    for copy in ("a", "b"):
        template += f"{{% set {copy}0 = {seed} %}}"
        for number, growth in enumerate(steps, start=1):
            value = growth.format(f"{copy}{number - 1}")
            template += f"{{% set {copy}{number} = {value} %}}"
    template += f"{{{{ a{len(steps)} == b{len(steps)} }}}}"
    try:
        mail = render_step(
            StepDraft(1, "Hoi", "", template), lead(), sender="C", unsubscribe_url="https://x.test"
        )
    except RenderError as error:
        assert error.kind == RenderProblem.LIMIT, error.message
        assert "would make" in error.message or "too large" in error.message, error.message
    else:
        assert mail.text.startswith("True")


def test_sum_joins_lists_and_tuples_in_one_pass() -> None:
    template = (
        "{{ [[1, 2], [3], []]|sum(start=[]) }} {{ [(1,), (2, 3)]|sum(start=()) }} "
        "{{ ([[0]] * 4000)|sum(start=[])|length }} {{ [1, 2.5]|sum }}"
    )
    mail = render_step(
        StepDraft(1, "Hoi", "", template), lead(), sender="C", unsubscribe_url="https://x.test/u"
    )
    assert mail.text.startswith("[1, 2, 3] (1, 2, 3) 4000 3.5")


def test_sum_of_a_list_and_a_tuple_is_a_clear_error() -> None:
    with pytest.raises(RenderError, match=r'can only concatenate list \(not "tuple"\) to list'):
        render_step(
            StepDraft(1, "Hoi", "", "{{ [[1], (2,)]|sum(start=[]) }}"),
            lead(),
            sender="C",
            unsubscribe_url="https://x.test/u",
        )


def test_lists_and_dicts_of_ordinary_size_still_work() -> None:
    template = (
        "{% set rows = [{'name': 'a', 'n': 2}, {'name': 'b', 'n': 1}] %}"
        "{% for row in rows|sort(attribute='n') %}{{ row.name }}{% endfor %} "
        "{% for group in [{'k': 'x'}, {'k': 'y'}, {'k': 'x'}]|groupby('k') %}"
        "{{ group.grouper }}{{ group.list|length }}{% endfor %} "
        "{{ (range(3)|list) * 2 }} {{ company.split(' ') + ['!'] }} {{ (1, 2) == (1, 2) }} "
        "{% for key, value in {'k': 1}.items() %}{{ key }}={{ value }}{% endfor %}"
    )
    mail = render_step(
        StepDraft(1, "Hoi", "", template), lead(), sender="C", unsubscribe_url="https://x.test/u"
    )
    assert mail.text.startswith("ba x2y1 [0, 1, 2, 0, 1, 2] ['Bakkerij', 'Jansen', '!'] True k=1")
