"""Where each column of a lead file goes: a known field, a variable, or nowhere.

A mapping is a list with one target per column: `email`, `company`, `url` (the lead's own
columns), `var:<name>` (a key of the lead's `vars`; the known fields such as `first_name`
are variables with an agreed name) or `ignore`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.formats import thousands
from webapp.services.leads.columns import clean_text, var_key

EMAIL = "email"
COMPANY = "company"
URL = "url"
IGNORE = "ignore"
VAR_PREFIX = "var:"
# Lead columns; a variable may not take one of these names.
LEAD_COLUMNS = (EMAIL, COMPANY, URL)


@dataclass(frozen=True)
class KnownField:
    """A field the product knows by name, and the header words that mean it."""

    name: str
    label: Any  # a lazy text, read in the reader's language
    headers: frozenset[str]

    @property
    def target(self) -> str:
        return self.name if self.name in LEAD_COLUMNS else f"{VAR_PREFIX}{self.name}"


def _words(*words: str) -> frozenset[str]:
    return frozenset(words)


# Header words are lower-case letters and digits only (see header_word): "E-mail adres",
# "e_mailadres" and "E-MAILADRES" are all `emailadres`. Dutch first, then English.
KNOWN_FIELDS: tuple[KnownField, ...] = (
    KnownField(EMAIL, _l("E-mail"), _words(
        "email", "emailadres", "mail", "mailadres", "emails", "emailaddress", "mailaddress",
    )),
    KnownField(COMPANY, _l("Company"), _words(
        "bedrijf", "bedrijfsnaam", "organisatie", "organisatienaam", "firma", "naambedrijf",
        "handelsnaam", "company", "companyname", "organisation", "organization",
    )),
    KnownField(URL, _l("Website"), _words(
        "website", "webadres", "websiteadres", "webpagina", "internetadres", "site", "web",
        "url", "websiteurl", "homepage",
    )),
    KnownField("salutation", _l("Salutation"), _words(
        "aanhef", "aanspreekvorm", "aanspreektitel", "salutation",
    )),
    KnownField("first_name", _l("First name"), _words(
        "voornaam", "roepnaam", "firstname", "givenname", "forename",
    )),
    KnownField("last_name", _l("Last name"), _words(
        "achternaam", "familienaam", "lastname", "surname", "familyname",
    )),
    KnownField("job_title", _l("Job title"), _words(
        "functie", "functietitel", "functienaam", "jobtitle", "position",
    )),
    KnownField("phone", _l("Phone"), _words(
        "telefoon", "telefoonnummer", "telefoonnr", "tel", "telnr", "mobiel", "mobielnummer",
        "phone", "phonenumber", "telephone", "telephonenumber", "mobile", "mobilephone",
    )),
    KnownField("address", _l("Address"), _words(
        "adres", "bezoekadres", "postadres", "vestigingsadres", "straatenhuisnummer",
        "address", "streetaddress",
    )),
    KnownField("postcode", _l("Postcode"), _words(
        "postcode", "postalcode", "zipcode", "zip",
    )),
    KnownField("city", _l("City"), _words(
        "plaats", "woonplaats", "stad", "plaatsnaam", "vestigingsplaats", "city", "town",
    )),
    KnownField("kvk_number", _l("KvK number"), _words(
        "kvk", "kvknummer", "kvknr", "kamervankoophandel", "kvkinschrijvingsnummer",
        "chamberofcommerce", "chamberofcommercenumber", "cocnumber",
    )),
)  # fmt: skip
_BY_TARGET = {known.target: known for known in KNOWN_FIELDS}
_BY_HEADER = {word: known for known in KNOWN_FIELDS for word in known.headers}

# Lead columns an import never sets, whatever the file calls its columns.
PROTECTED_HEADERS = frozenset(
    {"id", "status", "stopped", "deletedat", "lastemailedat", "createdat", "updatedat",
     "listname", "domain"}
)  # fmt: skip


def header_word(header: str) -> str:
    """A header reduced to lower-case ASCII letters and digits: `E-mailadres` -> `emailadres`."""
    text = unicodedata.normalize("NFKD", clean_text(header))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[^0-9a-z]", "", text.lower())


def target_label(target: str) -> str:
    """How the page names a target, in the reader's language: `First name`, `variable
    plaats`, `skip`."""
    if target == IGNORE:
        return str(_("skip"))
    known = _BY_TARGET.get(target)
    if known is not None:
        return str(known.label)
    return str(_("variable %(name)s", name=target.removeprefix(VAR_PREFIX)))


def _variable(name: str, index: int, taken: set[str]) -> str:
    """`var:<name>`, numbered when another column has that variable or it names a lead column."""
    key = var_key(name) or f"column_{index + 1}"
    base, n = key, 2
    while f"{VAR_PREFIX}{key}" in taken or key in LEAD_COLUMNS:
        key, n = f"{base}_{n}", n + 1
    return f"{VAR_PREFIX}{key}"


def guess_mapping(header: list[str]) -> list[str]:
    """Where each column goes, from its header: a known field, `var:<name>` or ignore."""
    mapping: list[str] = []
    taken: set[str] = set()
    for index, name in enumerate(header):
        word = header_word(name)
        known = _BY_HEADER.get(word)
        if known is not None and known.target not in taken:
            target = known.target
        elif word in PROTECTED_HEADERS:
            target = IGNORE
        else:
            target = _variable(name, index, taken)
        taken.add(target)
        mapping.append(target)
    return mapping


def column_choices(header: list[str], mapping: list[str]) -> list[list[str]]:
    """The targets each column may be given on the page: the known fields, its own variable
    (and the one it has now), or skip."""
    own: list[str] = []
    taken: set[str] = set()
    for index, name in enumerate(header):
        own.append(_variable(name, index, taken))
        taken.add(own[-1])
    fields = [known.target for known in KNOWN_FIELDS]
    return [
        list(dict.fromkeys([*fields, own[index], current, IGNORE]))
        for index, current in enumerate(mapping)
    ]


def check_mapping(mapping: list[str], header: list[str]) -> str | None:
    """Why the mapping cannot be imported, or None."""
    if mapping.count(EMAIL) == 0:
        found = ", ".join(repr(clean_text(name)) for name in header) or _("none")
        return str(
            _(
                "no e-mail column: name one `email`, `E-mail` or `E-mailadres`, or choose it "
                "in the mapping (columns found: %(columns)s)",
                columns=found,
            )
        )
    columns: dict[str, list[str]] = {}
    for index, target in enumerate(mapping):
        if target != IGNORE:
            name = (
                header[index] if index < len(header) else _("column %(number)s", number=index + 1)
            )
            columns.setdefault(target, []).append(repr(clean_text(name)))
    for target, names in columns.items():
        if len(names) > 1:
            return str(
                _(
                    "more than one column goes to %(target)s (%(columns)s): choose one and "
                    "skip the others",
                    target=target_label(target),
                    columns=", ".join(names),
                )
            )
    return None


def resolve_target(target: str | None) -> str:
    """A target as the API and the command line name it: a known field, a variable, or
    None/"" to skip. Raises ValueError saying why a name cannot be a target."""
    if target is None or not str(target).strip():
        return IGNORE
    key = var_key(str(target))
    if not key:
        raise ValueError(_("%(name)s is not a field or variable name", name=repr(target)))
    word = header_word(key)
    if word in PROTECTED_HEADERS:
        raise ValueError(
            _("%(name)s is kept by the product and cannot be imported", name=repr(key))
        )
    # Field names ignoring case and punctuation: "First name" and "e-mail" are fields.
    known = next((k for k in KNOWN_FIELDS if header_word(k.name) == word), None)
    return known.target if known is not None else f"{VAR_PREFIX}{key}"


def apply_choices(
    header: list[str], guessed: list[str], chosen: Mapping[str, str | None]
) -> list[str]:
    """The guessed mapping with the user's choice (file column -> target) laid over it.

    A column is named by its header, exactly or ignoring case and punctuation. Raises
    ValueError naming the problem: a column the file lacks, a target that cannot be one,
    or two chosen columns with one target. A column the user left alone that was guessed
    to go where a chosen one goes becomes a variable of its own instead.
    """
    mapping = list(guessed)
    chosen_by: dict[str, str] = {}
    chosen_columns: set[int] = set()
    for column, target in chosen.items():
        index = _column_index(header, column)
        if index in chosen_columns:
            raise ValueError(
                _(
                    "%(name)s names column %(column)s a second time",
                    name=repr(column),
                    column=repr(header[index]),
                )
            )
        resolved = resolve_target(target)
        if resolved != IGNORE and resolved in chosen_by:
            raise ValueError(
                _(
                    "%(first)s and %(second)s both go to %(target)s",
                    first=repr(chosen_by[resolved]),
                    second=repr(column),
                    target=target_label(resolved),
                )
            )
        chosen_by[resolved] = column
        mapping[index] = resolved
        chosen_columns.add(index)
    taken = {target for index, target in enumerate(mapping) if index in chosen_columns}
    for index, target in enumerate(mapping):
        if index in chosen_columns:
            continue
        if target != IGNORE and target in taken:
            target = mapping[index] = _variable(header[index], index, taken | set(mapping))
        taken.add(target)
    return mapping


def _column_index(header: list[str], column: str) -> int:
    name = clean_text(str(column))
    exact = [index for index, found in enumerate(header) if found == name]
    loose = [index for index, found in enumerate(header) if header_word(found) == header_word(name)]
    matches = exact or loose
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(
            _(
                "the file has %(count)s columns named %(name)s",
                count=thousands(len(matches)),
                name=repr(name),
            )
        )
    found = ", ".join(repr(found) for found in header) or _("none")
    raise ValueError(
        _(
            "the file has no column %(name)s (columns found: %(columns)s)",
            name=repr(name),
            columns=found,
        )
    )
