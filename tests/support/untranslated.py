"""Finds visible text that bypasses the translations.

Templates: every piece of text between tags (and every attribute a person reads:
title, placeholder, aria-label, alt, hx-confirm, a button's value) must come from a
`{{ _("...") }}`, `{% trans %}` or a variable, not from words written into the HTML.
Python: `flash()` and the refusals that reach a page (`InvalidInput`, `Conflict`,
`NotFound`, `ApiError`, ...) must not be given a bare string literal.

Run it on files to see what is left: `python -m tests.support.untranslated templates/leads/*.html`.
"""

from __future__ import annotations

import ast
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
# Attributes whose text a person reads (or hears).
READ_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt", "hx-confirm", "label"})
# Text that is the same in every language: names, units, codes, symbols.
SAME_EVERYWHERE = re.compile(
    r"^(?:[\W\d_]+|Punthelder(?: Campaigns)?|SMTP|IMAP|DKIM|SPF|DMARC|CSV|XLSX|API|HTML|URL|"
    r"UTC|ID|KPI|KPIs|htmx|OK|v\d|[A-Z]{1,3}|[a-z0-9.-]+@[a-z0-9.-]+|https?://\S+|"
    r"[a-z_]+\.[a-z_.]+|christian|victor|Nederlands|English)$"
)
WORD = re.compile(r"[^\W\d_]{2,}")
# Attribute text a macro writes between tags (`aria-invalid="true" ...`), not prose.
ATTRIBUTE_TEXT = re.compile(r"^[\w:-]+=\"")
# Calls whose string arguments a person reads.
READ_CALLS = frozenset(
    {"flash", "InvalidInput", "Conflict", "NotFound", "ApiError", "MessageConflict",
     "CampaignConflict", "CampaignInputError", "DomainSettingsError", "UserError",
     "PlanError", "ImportRefused", "ImportFileError", "ImportMappingError", "LeadActionError",
     "SuppressionError", "SpreadsheetError"}
)  # fmt: skip
TRANSLATING = frozenset({"_", "gettext", "ngettext", "lazy_gettext", "_l", "pgettext"})


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "pre", "svg"):
            self._skip += 1
        values = dict(attrs)
        for name, value in attrs:
            if value and name in READ_ATTRIBUTES:
                self._check(value)
        # An <input>'s value is its label; a <button>'s is only what the form posts.
        if tag == "input" and values.get("type") in ("submit", "button"):
            self._check(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre", "svg") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._check(data)

    def _check(self, text: str) -> None:
        text = " ".join(text.split())
        core = text.strip(" \u00b7:;,.()[]|\u2013-\u2014/*#&")
        if ATTRIBUTE_TEXT.match(text):
            return
        if core and WORD.search(core) and not SAME_EVERYWHERE.match(core):
            self.found.append(text)


def untranslated_in_template(path: Path) -> list[str]:
    """Visible words written straight into a template (Jinja expressions blanked out)."""
    source = path.read_text()
    env = Environment(extensions=["jinja2.ext.i18n", "jinja2.ext.do"])
    html: list[str] = []
    for _line, kind, value in env.lex(source):
        if kind == "data":
            html.append(value)
        elif kind in ("variable_begin", "block_begin"):
            html.append("\x00")  # an expression: whatever it prints is not ours to check
    parser = _Visible()
    parser.feed("".join(html).replace("\x00", " "))
    return parser.found


def untranslated_in_python(path: Path) -> list[str]:
    """Bare string literals handed to flash() or to a refusal a person reads."""
    tree = ast.parse(path.read_text())
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name not in READ_CALLS:
            continue
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            found.extend(_literals(argument))
    return [f"{path.relative_to(ROOT)}:{text}" for text in found]


def _literals(node: ast.AST) -> list[str]:
    """String literals in an argument, except inside a translating call or a dict's keys."""
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name in TRANSLATING:
            return []
        return [text for arg in node.args for text in _literals(arg)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if WORD.search(node.value) and " " in node.value.strip() else []
    if isinstance(node, ast.JoinedStr):
        return [ast.unparse(node)]
    if isinstance(node, ast.Dict):
        return [text for value in node.values if value for text in _literals(value)]
    if isinstance(node, ast.BinOp):
        return _literals(node.left) + _literals(node.right)
    return []


def main(paths: list[str]) -> int:
    left = 0
    for name in paths:
        path = Path(name).resolve()
        found = (
            untranslated_in_python(path) if path.suffix == ".py" else untranslated_in_template(path)
        )
        for text in found:
            print(text if path.suffix == ".py" else f"{name}: {text}")
        left += len(found)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
