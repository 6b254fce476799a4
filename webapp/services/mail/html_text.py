"""The text part of a mail from its HTML part, and the other way round."""

from __future__ import annotations

from inscriptis import Inscriptis
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig
from lxml.html import document_fromstring
from markupsafe import escape

# Strict: no indentation or extra blank lines that HTML layout would suggest.
_CONFIG = ParserConfig(css=CSS_PROFILES["strict"])


def html_to_text(html: str) -> str:
    """Readable plain text; a link shows its address after its words unless they are the same."""
    if not html.strip():
        return ""
    tree = document_fromstring(html)
    for bad in tree.xpath("//script | //style | //head"):
        bad.drop_tree()
    for link in tree.xpath("//a[@href]"):
        href = link.get("href", "").strip()
        words = link.text_content().strip()
        if href and not href.startswith("#") and words != href.removeprefix("mailto:"):
            link.tail = f" ({href.removeprefix('mailto:')})" + (link.tail or "")
    text = Inscriptis(tree, _CONFIG).get_text()
    lines = [line.rstrip() for line in text.splitlines()]
    # At most one blank line in a row.
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip() + "\n"


def text_to_html(text: str) -> str:
    """Paragraphs of escaped text, for a mail written only as text."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(str(escape(line)) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
