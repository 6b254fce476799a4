"""The Dutch catalog holds a Dutch text for every string the code and templates mark."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "translations" / "nl" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def marked_strings() -> set[str]:
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_string_has_its_dutch_text() -> None:
    with open(CATALOG, "rb") as source:
        catalog = read_po(source, locale="nl")
    dutch = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        texts = [message.string] if isinstance(message.string, str) else list(message.string)
        if all(texts):
            dutch[key] = texts
    marked = marked_strings()
    assert marked, "nothing is marked for translation"
    missing = sorted(marked - set(dutch))
    assert not missing, f"no Dutch (run `make extract`, then write it): {missing}"


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=[str(p.relative_to(ROOT)) for p in TEMPLATES])
def test_no_template_shows_text_outside_the_catalog(path: Path) -> None:
    """Visible words written straight into a template would stay English for everyone."""
    from tests.support.untranslated import untranslated_in_template

    assert untranslated_in_template(path) == []


def test_the_check_finds_words_written_into_a_template(tmp_path: Path) -> None:
    from tests.support.untranslated import untranslated_in_template

    page = tmp_path / "page.html"
    page.write_text(
        '<h1>{{ _("Leads") }}</h1><p>Nothing here yet.</p>'
        '<input placeholder="Search leads"><button value="next">{{ _("Next") }}</button>'
    )
    assert untranslated_in_template(page) == ["Nothing here yet.", "Search leads"]
