"""Rendering a template step for one lead: used by the preview, the audience check and the sender.

Every part runs in the mail sandbox (webapp/services/mail/sandbox.py, limits.py). A variable that is
missing or empty is an error that names it, never a blank in a mail. Context: the lead's
`vars`, then its `email`, `company`, `url` and `domain` columns on top when set (the columns
are what the importer cleaned), then `sender`, `unsubscribe_url` and `tracking`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import TracebackType
from typing import Any, Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import Template as JinjaTemplate
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from markupsafe import escape

from webapp.formats import thousands
from webapp.models import Lead, Template, TemplateStep
from webapp.services.mail.html_text import html_to_text, text_to_html
from webapp.services.mail.limits import (
    MAX_STRING_CHARS,
    LimitExceeded,
    deep_sized,
    render_budget,
)
from webapp.services.mail.sandbox import (
    BUILTIN_NAMES,
    HTML_SANDBOX,
    JINJA_LOCALS,
    TEXT_SANDBOX,
    UNAVAILABLE_NAMES,
    MissingVariable,
)
from webapp.services.mail.spintax import (
    SPIN_NAME,
    SpintaxError,
    seeded_choices,
    version_choices,
)
from webapp.services.mail.spintax import read as read_spintax
from webapp.services.mail.variants import Variant, variants_of

LEAD_COLUMNS = ("email", "company", "url", "domain")
PART_LABELS = {"subject": _l("Subject"), "body_html": _l("HTML body"), "body_text": _l("Text body")}
PREVIEW_SENDER = "Christian"
PREVIEW_UNSUBSCRIBE_URL = "https://example.invalid/u/voorbeeld"
UNSUBSCRIBE_HTML = (
    '<p style="font-size:12px;color:#6b7280">Geen berichten meer van ons ontvangen? '
    '<a href="{url}">Afmelden</a>.</p>'
)
UNSUBSCRIBE_TEXT = "--\nGeen berichten meer van ons ontvangen? Afmelden: {url}\n"
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_MAX_DISCOVERY = 50  # re-renders spent naming every missing variable, not just the first
# `x | default("...")` renders the fallback when x is missing or empty.
FALLBACK_FILTERS = frozenset({"default", "d"})
# Tests that ask whether a value is there without failing when it is not.
ABSENCE_TESTS = frozenset({"defined", "undefined", "none"})


class RenderProblem(StrEnum):
    """What kind of problem stops a render; saving refuses some, the preview shows all."""

    SYNTAX = "syntax"
    UNSAFE = "unsafe"
    LIMIT = "limit"
    MISSING = "missing"
    SUBJECT = "subject"
    CONTENT = "content"
    RUNTIME = "runtime"


class RenderError(ValueError):
    """A template that cannot be rendered (for this lead): says why, where and what is missing."""

    def __init__(
        self,
        message: str,
        *,
        missing: Iterable[str] = (),
        line: int | None = None,
        part: str | None = None,
        kind: RenderProblem = RenderProblem.RUNTIME,
    ) -> None:
        self.missing: list[str] = sorted(set(missing))
        self.line = line
        self.part = part
        self.kind = RenderProblem.MISSING if self.missing else kind
        # `located`: the message with its line (a form field already says which part);
        # `message`: with the part too ("HTML body, line 3: ...").
        self.located: str = (
            str(_("line %(line)s: %(message)s", line=line, message=message)) if line else message
        )
        label = PART_LABELS.get(part or "")
        self.message: str = self.located
        if label is not None:
            self.message = f"{label}, {self.located}" if line else f"{label}: {message}"
        super().__init__(self.message)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    html: str
    text: str


class StepSource(Protocol):
    """What rendering reads of a step: a saved TemplateStep or a frozen StepDraft."""

    @property
    def mail_number(self) -> int: ...
    @property
    def subject(self) -> str: ...
    @property
    def body_html(self) -> str: ...
    @property
    def body_text(self) -> str: ...
    @property
    def variants(self) -> Any: ...


@dataclass(frozen=True)
class StepDraft:
    """A step as typed in the editor, before it is saved."""

    mail_number: int
    subject: str = ""
    body_html: str = ""
    body_text: str = ""
    variants: tuple[Variant, ...] = ()


def step_for_variant(step: StepSource, key: str | None) -> StepSource:
    """The step as variant `key` has it (mail/variants.py: the base fills what it leaves
    out); the step itself without a key or when it has no such variant."""
    if key is None:
        return step
    variant = next((v for v in variants_of(step.variants) if v.key == key), None)
    if variant is None:
        return step
    html, text = step.body_html, step.body_text
    if variant.has_body:
        html, text = variant.body_html or "", variant.body_text or ""
    return StepDraft(step.mail_number, variant.subject or step.subject, html, text)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict | tuple):
        return bool(value)
    return True


def lead_context(lead: Lead) -> dict[str, Any]:
    """The lead's variables: its vars, with the email/company/url/domain columns on top when set.

    Empty values are left out, so that using one is the same error as a missing one.
    """
    context = {key: value for key, value in (lead.vars or {}).items() if _present(value)}
    for column in LEAD_COLUMNS:
        value = getattr(lead, column)
        if _present(value):
            context[column] = value
    return context


def variables_in(sources: Iterable[str]) -> set[str]:
    """The lead variables some template texts use; texts that do not parse are skipped."""
    names: set[str] = set()
    for source in sources:
        if not source:
            continue
        try:
            names |= meta.find_undeclared_variables(TEXT_SANDBOX.parse(source))
        except (TemplateSyntaxError, RecursionError):  # compile_part says what is wrong
            continue
    return names - BUILTIN_NAMES - JINJA_LOCALS - UNAVAILABLE_NAMES


def template_variables(template: Template) -> set[str]:
    """The names of lead variables the template's steps use (subject, HTML and text)."""
    return variables_in(_step_sources(template))


def required_variables_in(sources: Iterable[str]) -> set[str]:
    """The lead variables some template texts need: those used at least once without a fallback.

    A use has a fallback when it is what `default` (or `d`) filters, when it is only tested
    (`is defined`, `is none`, `{% if x %}`, `x or "..."`), or when it runs only where an
    enclosing `{% if %}` (or `... if x else ...`) found the variable filled in. Empty values
    are left out of a lead's context, so each of these renders for a lead without it. Texts
    that do not parse are skipped.
    """
    names: set[str] = set()
    for source in sources:
        if not source:
            continue
        try:
            tree = TEXT_SANDBOX.parse(source)
            undeclared = meta.find_undeclared_variables(tree)
            uses = _RequiredUses()
            uses.statements(tree.body, frozenset(), frozenset())
        except (TemplateSyntaxError, RecursionError):  # compile_part says what is wrong
            continue
        names |= uses.found & undeclared
    return names - BUILTIN_NAMES - JINJA_LOCALS - UNAVAILABLE_NAMES


def template_required_variables(template: Template) -> set[str]:
    """The lead variables the template's steps need, each used at least once without a fallback."""
    return required_variables_in(_step_sources(template))


def _step_sources(template: Template) -> Iterable[str]:
    return (source for step in template.steps for source in step_texts(step))


def step_texts(step: StepSource) -> list[str]:
    """Every text of a step: its own parts and those its variants give themselves."""
    texts = [step.subject, step.body_html, step.body_text]
    for variant in variants_of(step.variants):
        texts += [p for p in (variant.subject, variant.body_html, variant.body_text) if p]
    return texts


def _filled_when(test: nodes.Node, outcome: bool) -> frozenset[str]:
    """The names a truth test coming out as `outcome` proves present and not empty."""
    if isinstance(test, nodes.Name):
        return frozenset({test.name}) if outcome else frozenset()
    if isinstance(test, nodes.Test) and isinstance(test.node, nodes.Name):
        if (test.name, outcome) in (("defined", True), ("undefined", False)):
            return frozenset({test.node.name})
        return frozenset()
    if isinstance(test, nodes.Not):
        return _filled_when(test.node, not outcome)
    if isinstance(test, nodes.And | nodes.Or):
        left, right = _filled_when(test.left, outcome), _filled_when(test.right, outcome)
        # A true `and` (a false `or`) says something of both sides, the other only of one.
        both = isinstance(test, nodes.And) == outcome
        return left | right if both else left & right
    return frozenset()


class _RequiredUses:
    """Walks a parsed template, collecting the names used where a missing value fails."""

    def __init__(self) -> None:
        self.found: set[str] = set()

    def statements(
        self, body: Iterable[nodes.Node], filled: frozenset[str], local: frozenset[str]
    ) -> None:
        # `{% set %}` and macros name something of the template's own for what follows.
        for node in body:
            self.node(node, filled, local)
            if isinstance(node, nodes.Assign | nodes.AssignBlock):
                local |= _stored(node.target)
            elif isinstance(node, nodes.Macro):
                local |= {node.name}

    def node(
        self,
        node: nodes.Node,
        filled: frozenset[str],
        local: frozenset[str],
        truth: bool = False,
    ) -> None:
        """Visit `node`; `truth` when only its truth is asked (a missing value is just false)."""
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and not truth and node.name not in filled | local:
                self.found.add(node.name)
        elif isinstance(node, nodes.Filter | nodes.Test) and isinstance(node.node, nodes.Name):
            spared = FALLBACK_FILTERS if isinstance(node, nodes.Filter) else ABSENCE_TESTS
            if node.name not in spared:
                self.node(node.node, filled, local)
            self.arguments(node, filled, local)
        elif isinstance(node, nodes.Not):
            self.node(node.node, filled, local, truth=True)
        elif isinstance(node, nodes.And):
            # `a and b` is `a` itself when `a` is missing: only a truth test takes that.
            self.node(node.left, filled, local, truth)
            self.node(node.right, filled | _filled_when(node.left, True), local, truth)
        elif isinstance(node, nodes.Or):
            # `a or "..."` is never a missing `a`.
            self.node(node.left, filled, local, truth=True)
            self.node(node.right, filled | _filled_when(node.left, False), local, truth)
        elif isinstance(node, nodes.CondExpr):
            self.node(node.test, filled, local, truth=True)
            self.node(node.expr1, filled | _filled_when(node.test, True), local, truth)
            if node.expr2 is not None:
                self.node(node.expr2, filled | _filled_when(node.test, False), local, truth)
        elif isinstance(node, nodes.If):
            for branch in (node, *node.elif_):
                self.node(branch.test, filled, local, truth=True)
                self.statements(branch.body, filled | _filled_when(branch.test, True), local)
                filled |= _filled_when(branch.test, False)
            self.statements(node.else_, filled, local)
        elif isinstance(node, nodes.For):
            self.node(node.iter, filled, local)
            inner = local | _stored(node.target) | {"loop"}
            if node.test is not None:
                self.node(node.test, filled, inner, truth=True)
            self.statements(node.body, filled, inner)
            self.statements(node.else_, filled, local)
        elif isinstance(node, nodes.Macro | nodes.CallBlock):
            if isinstance(node, nodes.CallBlock):
                self.node(node.call, filled, local)
            for default in node.defaults:
                self.node(default, filled, local)
            params = frozenset(arg.name for arg in node.args) | JINJA_LOCALS
            self.statements(node.body, filled, local | params)
        elif isinstance(node, nodes.With):
            for value in node.values:
                self.node(value, filled, local)
            targets = frozenset().union(*(_stored(target) for target in node.targets))
            self.statements(node.body, filled, local | targets)
        else:
            for child in node.iter_child_nodes():
                self.node(child, filled, local)

    def arguments(
        self, node: nodes.Filter | nodes.Test, filled: frozenset[str], local: frozenset[str]
    ) -> None:
        values = [*node.args, *(kw.value for kw in node.kwargs), node.dyn_args, node.dyn_kwargs]
        for value in values:
            if value is not None:
                self.node(value, filled, local)


def _stored(target: nodes.Node) -> frozenset[str]:
    """The names an assignment target (`x`, `a, b`) stores."""
    if isinstance(target, nodes.Name):
        return frozenset({target.name})
    return frozenset(name.name for name in target.find_all(nodes.Name))


def compile_part(source: str, part: str) -> JinjaTemplate:
    """Compile one part (`subject`, `body_html` or `body_text`); RenderError with the line."""
    try:
        return _compile(source, part == "body_html")
    except TemplateSyntaxError as error:
        raise RenderError(
            error.message or _("syntax error"),
            line=error.lineno,
            part=part,
            kind=RenderProblem.SYNTAX,
        ) from None
    except TemplateError as error:
        raise RenderError(str(error), part=part, kind=RenderProblem.SYNTAX) from None
    except RecursionError:
        # Thousands of brackets or braces inside each other: Jinja's parser recurses once a
        # level. Said in a sentence, not a 3,000-line traceback in the log.
        raise RenderError(
            _("too much work: %(detail)s", detail=_("brackets or braces are nested too deeply")),
            part=part,
            kind=RenderProblem.LIMIT,
        ) from None


@lru_cache(maxsize=512)
def _compile(source: str, html: bool) -> JinjaTemplate:
    sandbox = HTML_SANDBOX if html else TEXT_SANDBOX
    return sandbox.from_string(sandbox.prepare(source))


def _template_line(traceback: TracebackType | None) -> int | None:
    """The template line Jinja's rewritten traceback points at, if any."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _render_part(template: JinjaTemplate, context: dict[str, Any], part: str) -> str:
    """Render one compiled part, stopping as soon as it passes the size limit."""
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_STRING_CHARS:
                raise LimitExceeded(_output_too_long())
            chunks.append(chunk)
    except MissingVariable:
        raise
    except LimitExceeded as error:
        line = _template_line(error.__traceback__)
        raise RenderError(
            _("too much work: %(detail)s", detail=error),
            line=line,
            part=part,
            kind=RenderProblem.LIMIT,
        ) from None
    except SecurityError as error:
        line = _template_line(error.__traceback__)
        raise RenderError(
            _("not allowed: %(detail)s", detail=error),
            line=line,
            part=part,
            kind=RenderProblem.UNSAFE,
        ) from None
    except RecursionError:
        raise RenderError(
            _("too much work: %(detail)s", detail=_("macros call themselves too deeply")),
            part=part,
            kind=RenderProblem.LIMIT,
        ) from None
    except Exception as error:  # a template's own mistake: 1 / 0, "a" + 1, ...
        line = _template_line(error.__traceback__)
        message = str(error)[:200] or type(error).__name__
        raise RenderError(
            _("cannot render: %(detail)s", detail=message), line=line, part=part
        ) from None
    return "".join(chunks)


def _output_too_long() -> str:
    return str(
        _(
            "the output passes the limit of %(max)s characters",
            max=thousands(MAX_STRING_CHARS),
        )
    )


# Which version of a text's spintax to render: a seed (`spin_seed`: the lead and the mail
# number) or a version number (the editor's previews); None takes every first choice.
Spin = str | int | None


def spin_seed(lead_id: str, mail_number: int) -> str:
    return f"{lead_id}:{mail_number}"


def _spin_context(source: str, spin: Spin) -> dict[str, Any]:
    """`_spin`, the choice of each spintax group of the text (nothing when it has none)."""
    spun = read_spintax(source)
    if not spun.sizes:
        return {}
    if isinstance(spin, str):
        choices = seeded_choices(spun.sizes, spin)
    else:
        choices = version_choices(spun, spin or 0)
    return {SPIN_NAME: choices}


def _versions(source: str) -> tuple[int, tuple[int, ...]]:
    """A text's number of spintax versions and its groups' sizes (1 and none when the text
    has none, or spintax past its limits, which compiling the text reports)."""
    try:
        spun = read_spintax(source)
    except SpintaxError:
        return 1, ()
    return spun.versions, spun.sizes


def _body_versions(step: StepSource) -> tuple[int, int, bool]:
    """The HTML's versions, the text's, and whether they choose alike: with the same groups
    in both, a lead's seed picks the same words in each, so they count once."""
    html, html_sizes = _versions(step.body_html) if step.body_html.strip() else (1, ())
    text, text_sizes = _versions(step.body_text) if step.body_text.strip() else (1, ())
    return html, text, html_sizes == text_sizes


def spin_versions(step: StepSource) -> int:
    """How many versions the step's spintax makes: the subject's times the bodies'."""
    html, text, alike = _body_versions(step)
    return _versions(step.subject)[0] * (html if alike else html * text)


def _part_spin(source: str, part: str, step: StepSource, spin: Spin) -> Spin:
    """A version number of the whole step, turned into the part's own: the subject's
    versions vary fastest, then the HTML's, then the text's (unless it has the HTML's groups,
    when it follows the HTML)."""
    if not isinstance(spin, int):
        return spin
    subject = _versions(step.subject)[0]
    if part == "subject":
        return spin % subject
    body = spin // subject
    html, text, alike = _body_versions(step)
    if part == "body_html" or alike:
        return body % html
    return (body // html) % text


def render_sources(
    step: StepSource,
    context: dict[str, Any],
    *,
    subject_fallback: str | None = None,
    spin: Spin = None,
) -> RenderedMail:
    """Render a step's texts with a ready context; the core of render_step and the previews."""
    parts = [
        (part, source)
        for part, source in (
            ("subject", step.subject),
            ("body_html", step.body_html),
            ("body_text", step.body_text),
        )
        if source.strip()
    ]
    if not any(part != "subject" for part, _source in parts):
        raise RenderError(
            _("mail %(number)s has no body", number=step.mail_number), kind=RenderProblem.CONTENT
        )
    compiled = [
        (
            part,
            compile_part(source, part),
            _spin_context(source, _part_spin(source, part, step, spin)),
        )
        for part, source in parts
    ]
    rendered = _render_all(compiled, context)
    return _finish(
        rendered, str(context.get("unsubscribe_url", "")), subject_fallback, step.mail_number
    )


def render_subject(source: str, context: dict[str, Any], spin: Spin = None) -> str:
    """Just a subject, rendered and cleaned (for the "Re: <mail 1 subject>" of follow-ups)."""
    compiled = compile_part(source, "subject")
    rendered = _render_all([("subject", compiled, _spin_context(source, spin))], context)
    return clean_subject(rendered["subject"])


def _render_all(
    compiled: list[tuple[str, JinjaTemplate, dict[str, Any]]], context: dict[str, Any]
) -> dict[str, str]:
    """Render the parts within one budget; every missing variable is named, not just the first."""
    context = {
        key: deep_sized(value)
        for key, value in context.items()
        if key == "tracking" or _present(value)
    }
    missing: list[str] = []
    rendered: dict[str, str] = {}
    with render_budget():
        for _attempt in range(_MAX_DISCOVERY):
            try:
                rendered = {
                    part: _render_part(t, {**context, **spin}, part) for part, t, spin in compiled
                }
                break
            except MissingVariable as error:
                missing.append(error.name)
                # Render on with a stand-in to find the other missing names too.
                context = {**context, error.name: error.name}
            except RenderError:
                if missing:
                    break
                raise
    if missing:
        names = ", ".join(sorted(set(missing)))
        raise RenderError(
            _("missing or empty for this lead: %(names)s", names=names), missing=missing
        )
    return rendered


def _finish(
    rendered: dict[str, str], unsubscribe_url: str, subject_fallback: str | None, number: int
) -> RenderedMail:
    """Subject checks, the HTML or text part made from the other, the unsubscribe line."""
    subject = clean_subject(rendered.get("subject", "")) or clean_subject(subject_fallback or "")
    if not subject:
        raise RenderError(
            _("mail %(number)s has no subject", number=number),
            part="subject",
            kind=RenderProblem.CONTENT,
        )
    html = rendered.get("body_html", "").strip()
    text = rendered.get("body_text", "").strip()
    if not html:
        html = text_to_html(text)
    if unsubscribe_url and unsubscribe_url not in html and str(escape(unsubscribe_url)) not in html:
        html = _append_to_body(html, UNSUBSCRIBE_HTML.format(url=escape(unsubscribe_url)))
    if not text:
        text = html_to_text(html)
    if unsubscribe_url and unsubscribe_url not in text:
        text = f"{text.rstrip()}\n\n{UNSUBSCRIBE_TEXT.format(url=unsubscribe_url)}"
    for part, value in (("body_html", html), ("body_text", text)):
        if len(value) > MAX_STRING_CHARS:
            raise RenderError(
                _("too much work: %(detail)s", detail=_output_too_long()),
                part=part,
                kind=RenderProblem.LIMIT,
            )
    return RenderedMail(subject=subject, html=html, text=text.rstrip() + "\n")


def clean_subject(subject: str) -> str:
    """A subject as one clean line; line breaks are refused, never folded away."""
    if _LINE_BREAKS.search(subject):
        raise RenderError(
            _("a subject must be one line (it contains a line break)"),
            part="subject",
            kind=RenderProblem.SUBJECT,
        )
    return " ".join(_CONTROL.sub("", subject).split())


def _append_to_body(html: str, line: str) -> str:
    closing = html.lower().rfind("</body>")
    if closing == -1:
        return f"{html}\n{line}"
    return f"{html[:closing]}{line}\n{html[closing:]}"


def render_step(
    step: TemplateStep | StepSource,
    lead: Lead,
    *,
    sender: str,
    unsubscribe_url: str,
    tracking: Any = None,
    subject_fallback: str | None = None,
    variant: str | None = None,
) -> RenderedMail:
    """One step for one lead, as it will be sent; RenderError names what is wrong or missing.

    `variant` is the version of the step the lead's message has (None: the step's own). The
    lead's version of the spintax is chosen by the lead and the mail number.
    """
    step = step_for_variant(step, variant)
    context = lead_context(lead)
    context.update(sender=sender, unsubscribe_url=unsubscribe_url, tracking=tracking)
    spin = spin_seed(lead.id, step.mail_number)
    return render_sources(step, context, subject_fallback=subject_fallback, spin=spin)


def preview_steps(
    steps: Iterable[StepSource],
    context: dict[str, Any],
    mail_number: int,
    *,
    spin: Spin = None,
    spin_first: Spin = None,
    variant: str | None = None,
    variant_first: str | None = None,
) -> RenderedMail:
    """Mail `mail_number` of some steps (saved or not) with a preview sender and unsubscribe URL.

    `spin` picks the step's spintax version (a lead's seed, or a version number) and
    `spin_first` the first mail's, whose subject a follow-up without one answers;
    `variant` and `variant_first` pick the version of each step the same way.
    """
    by_number: dict[int, StepSource] = {step.mail_number: step for step in steps}
    found = by_number.get(mail_number)
    if found is None:
        raise RenderError(
            _("the template has no mail %(number)s", number=mail_number),
            kind=RenderProblem.CONTENT,
        )
    step = step_for_variant(found, variant)
    context = {**context, "sender": PREVIEW_SENDER, "unsubscribe_url": PREVIEW_UNSUBSCRIBE_URL}
    context.setdefault("tracking", None)
    with render_budget():  # the fallback subject and the parts share one time limit
        fallback = None
        if mail_number > 1 and not step.subject.strip() and 1 in by_number:
            first = step_for_variant(by_number[1], variant_first)
            fallback = f"Re: {render_subject(first.subject, context, spin_first)}"
        return render_sources(step, context, subject_fallback=fallback, spin=spin)


def render_preview(
    template: Template,
    lead: Lead,
    mail_number: int,
    variant: str | None = None,
    variant_first: str | None = None,
) -> RenderedMail:
    """What `lead` would receive as mail `mail_number` (as variant `variant`, answering
    mail 1 as `variant_first`), with a sample sender and unsubscribe URL."""
    return preview_steps(
        template.steps,
        lead_context(lead),
        mail_number,
        spin=spin_seed(lead.id, mail_number),
        spin_first=spin_seed(lead.id, 1),
        variant=variant,
        variant_first=variant_first,
    )


def sample_context(names: Iterable[str]) -> dict[str, Any]:
    """Stand-in values (`[first_name]`) for previewing without a lead."""
    return {name: f"[{name}]" for name in names}
