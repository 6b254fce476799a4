"""Every route, every method, hostile input: never a 5xx, and the session survives.

The routes come from the app's own URL map, so a new route is fuzzed without being
listed here. Path variables get hostile values and real ids; query strings, form
bodies (with a valid CSRF token) and JSON bodies (with a valid API token) get a fixed
table of hostile values under every parameter name the web layer reads. The table is
fixed, so the run is deterministic and bounded (a few thousand requests).
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.factories import make_campaign, make_lead, make_message
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Suppression
from webapp.services.tracking.tokens import open_token

WEB = Path(__file__).resolve().parents[2] / "webapp"

# Raw (already percent-encoded where needed) values for paths, query strings and forms.
HOSTILE_TEXT: list[str] = [
    "a%00b",  # NUL
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded (invalid UTF-8)
    "9" * 40,  # beyond bigint
    "-1",
    "%D9%A3",  # Arabic-Indic digit three
    "%C2%B2",  # superscript two: isdigit() but not int()
    "1e309",
    "x" * 5000,  # longer than any column
    "9999-12-31T23%3A59%3A59%2B00%3A00",
    "javascript%3Aalert(1)",
    "..%2F..%2Fetc%2Fpasswd",
    "",
]
# Values for JSON fields, as JSON text: wrong types, out of range, hostile strings.
HOSTILE_JSON: list[str] = [
    "null",
    "true",
    "-1",
    str(2**70),
    "1e308",
    "1.5",
    '""',
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\ud800"',
    '"' + "x" * 5000 + '"',
    "[]",
    "{}",
    '[{"a": 1}]',
    '{"a": {"b": []}}',
    '"9999-12-31T23:59:59+00:00"',
    '"javascript:alert(1)"',
    '["\\u0000", 1, null]',
]
DEEP = 5000
# Whole JSON bodies that are hostile as a whole.
HOSTILE_BODIES: list[bytes] = [
    b"[" * DEEP + b"]" * DEEP,
    b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    b"[]",
    b"1",
    b"null",
    b'"text"',
    b"{",
    b"\xff\xfe{}",
    b'{"\\ud800": 1}',
    b'{"\\u0000": "\\u0000"}',
]
HOSTILE_PATH: list[str] = ["a%00b", "%ED%A0%80", "9" * 40, "-1", "x" * 3000, "%C2%B2"]

# Parameter names the web layer and the services read from requests, found in the source.
NAME_PATTERNS = (
    re.compile(r"""\.(?:get|getlist|pop)\(\s*["']([a-z][a-z0-9_]*)["']"""),
    re.compile(r"""\[\s*["']([a-z][a-z0-9_]*)["']\s*\]"""),
    re.compile(r"""(?:^|[\s(,])name=["']([a-z][a-z0-9_\-]*)["']"""),
)


def parameter_names() -> list[str]:
    names: set[str] = set()
    sources = [*WEB.glob("web/**/*.py"), *WEB.glob("services/**/*.py")]
    sources += [*(WEB.parent / "templates").glob("**/*.html")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for pattern in NAME_PATTERNS:
            names.update(pattern.findall(text))
    names.discard("csrf_token")
    return sorted(names)


@dataclass
class Findings:
    failures: list[str] = field(default_factory=list)
    requests: int = 0

    def record(self, what: str, response: Any = None, error: BaseException | None = None) -> None:
        self.requests += 1
        if error is not None:
            line = traceback.format_exception_only(type(error), error)[0].strip()
            self.failures.append(f"{what}: raised {line[:200]}")
        elif response is not None and response.status_code >= 500:
            self.failures.append(f"{what}: {response.status_code}")


@dataclass
class Ids:
    values: dict[str, str]

    def fill(self, rule: Rule, override: tuple[str, str] | None = None) -> str:
        """The rule's path with real ids, one argument replaced by a raw hostile value."""
        path = rule.rule
        for argument in rule.arguments:
            raw = quote(self.values.get(argument, "x"), safe="/.")
            if override and override[0] == argument:
                raw = override[1]
            path = re.sub(rf"<(?:[a-z]+:)?{argument}>", lambda _m, raw=raw: raw, path)
        return path


@pytest.fixture
def ids(app: Flask) -> Iterator[Ids]:
    lead = make_lead()
    campaign = make_campaign()
    running = make_campaign(status="running")
    message = make_message(running, lead, status="sent", sent_at=utcnow())
    suppression = Suppression(email="blocked@example.nl", reason="manual")
    db.session.add(suppression)
    db.session.commit()
    yield Ids(
        {
            "lead_id": lead.id,
            "campaign_id": campaign.id,
            "template_id": campaign.template_id,
            "message_id": message.id,
            "suppression_id": suppression.id,
            "job_id": "0" * 32,
            "name": "punthelder-seo.nl",
            "filename": "report.pdf",
            "token": open_token(message.id) + ".gif",
            "rest": "anything",
        }
    )


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


# Routes that end the session; they are called last.
SESSION_ENDERS = {"auth.logout"}


def _rules(app: Flask) -> list[Rule]:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SESSION_ENDERS]
    return sorted(rules, key=lambda r: (r.rule, r.endpoint))


def _send(
    findings: Findings,
    client: FlaskClient,
    method: str,
    url: str,
    what: str,
    **kwargs: Any,
) -> None:
    try:
        response = client.open(url, method=method, buffered=True, **kwargs)
    except Exception as error:  # an unhandled error in the app: what this test looks for
        findings.record(what, error=error)
        db.session.rollback()
        return
    findings.record(what, response=response)


def _fuzz_rule(
    findings: Findings,
    client: FlaskClient,
    rule: Rule,
    ids: Ids,
    names: list[str],
    headers: dict[str, str],
    csrf: str | None,
) -> None:
    """Hostile path ids, query strings and bodies for every method of one rule."""
    is_api = rule.rule.startswith("/api/")
    # Pages alternate between a plain and an htmx request: both answer errors differently.
    variants = [headers, {**headers, "HX-Request": "true"}] if not is_api else [headers]
    for method in _methods(rule):
        for argument in rule.arguments:
            for n, raw in enumerate(HOSTILE_PATH):
                url = ids.fill(rule, (argument, raw))
                sent = variants[n % len(variants)]
                _send(findings, client, method, url, f"{method} {url[:80]}", headers=sent)
        base = ids.fill(rule)
        for n, raw in enumerate(HOSTILE_TEXT if method == "GET" else HOSTILE_TEXT[:1]):
            query = "&".join(f"{name}={raw}" for name in names)
            what = f"{method} {base} ?*={raw[:20]}"
            sent = variants[n % len(variants)]
            _send(findings, client, method, f"{base}?{query}", what, headers=sent)
        if method == "GET":
            continue
        if is_api:
            json_headers = {**headers, "Content-Type": "application/json"}
            for value in HOSTILE_JSON:
                body = "{" + ",".join(f'"{name}": {value}' for name in names) + "}"
                what = f"{method} {base} json *={value[:20]}"
                _send(
                    findings, client, method, base, what, data=body.encode(), headers=json_headers
                )
            for whole in HOSTILE_BODIES:
                what = f"{method} {base} body {whole[:20]!r}"
                _send(findings, client, method, base, what, data=whole, headers=json_headers)
            continue
        token = f"csrf_token={quote(csrf)}&" if csrf else ""
        for n, raw in enumerate(HOSTILE_TEXT):
            body = token + "&".join(f"{name}={raw}" for name in names)
            sent = {
                **variants[n % len(variants)],
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": csrf or "",
            }
            what = f"{method} {base} form *={raw[:20]}"
            _send(findings, client, method, base, what, data=body.encode(), headers=sent)


def _report(findings: Findings) -> str:
    shown = "\n".join(findings.failures[:60])
    return f"{len(findings.failures)} of {findings.requests} requests failed:\n{shown}"


def test_no_route_answers_5xx_to_hostile_input_as_admin(
    app: Flask,
    ids: Ids,
    login_as: Callable[[str], FlaskClient],
    api_client: Callable[[str], Any],
) -> None:
    client = login_as("admin")
    csrf = client.csrf  # type: ignore[attr-defined]
    api, api_headers = api_client("admin")
    names = parameter_names()
    findings = Findings()
    for rule in _rules(app):
        if rule.rule.startswith("/api/"):
            _fuzz_rule(findings, api, rule, ids, names, api_headers, None)
        else:
            _fuzz_rule(findings, client, rule, ids, names, {}, csrf)
    assert not findings.failures, _report(findings)
    # The session and the token still work after all that.
    assert client.get("/").status_code == 200
    assert client.get("/campaigns/").status_code == 200
    assert api.get("/api/v1/me", headers=api_headers).status_code == 200


# Valid API bodies: each field in turn gets each of these, the others stay valid, so a
# check that stops at the first bad field cannot hide the checks behind it.
FIELD_VALUES: list[Any] = [None, True, -1, 2**70, 1.5, "", "x" * 5000, [], {}, ["x"], {"a": 1}]


def _valid_bodies(ids: Ids) -> list[tuple[str, str, dict[str, Any]]]:
    step = {"mail_number": 1, "subject": "Hallo", "body_html": "<p>Hi</p>", "body_text": "Hi"}
    audience = {"list_names": ["test-list"], "only_complete": True, "one_per_domain": True}
    campaign = {
        "name": "Najaar",
        "template_id": ids.values["template_id"],
        "audience": audience,
        "followup_enabled": True,
        "followup_days": 3,
        "domains": ["punthelder-seo.nl"],
    }
    preview = {"lead_id": ids.values["lead_id"], "mail_number": 1}
    domain = {
        "interval_seconds": 1200,
        "window_start": "09:00",
        "window_end": "18:00",
        "working_days": [1, 2, 3, 4, 5],
        "timezone": "Europe/Amsterdam",
        "paused": False,
        "smtp_host": "smtp.example.nl",
        "smtp_port": 587,
        "smtp_tls": "starttls",
        "aliases": [{"alias": "christian", "display_name": "Christian"}],
    }
    return [
        ("POST", "/api/v1/templates", {"name": "Nieuw", "steps": [step]}),
        (
            "PUT",
            f"/api/v1/templates/{ids.values['template_id']}",
            {"name": "Ander", "steps": [step]},
        ),
        ("POST", "/api/v1/campaigns", campaign),
        ("PATCH", f"/api/v1/campaigns/{ids.values['campaign_id']}", campaign),
        ("POST", "/api/v1/audience/preview", audience),
        ("POST", "/api/v1/suppressions", {"email": "weg@example.nl", "reason": "manual"}),
        ("POST", f"/api/v1/templates/{ids.values['template_id']}/preview", preview),
        ("PATCH", "/api/v1/domains/punthelder-seo.nl", domain),
    ]


def test_each_api_field_with_the_wrong_type_or_size_is_never_a_5xx(
    app: Flask, ids: Ids, api_client: Callable[[str], Any]
) -> None:
    from webapp.services.domains import seed_default_domains

    seed_default_domains()
    db.session.commit()
    api, headers = api_client("admin")
    findings = Findings()
    for method, url, body in _valid_bodies(ids):
        fields: list[tuple[str, ...]] = [(k,) for k in body]
        fields += [(k, sub) for k, v in body.items() if isinstance(v, dict) for sub in v]
        fields += [("steps", "0", k) for k in body.get("steps", [{}])[0]]
        for path in fields:
            for value in FIELD_VALUES:
                sent = json.loads(json.dumps(body))
                target = sent
                for key in path[:-1]:
                    target = target[int(key)] if key.isdigit() else target[key]
                target[path[-1]] = value
                what = f"{method} {url} {'.'.join(path)}={str(value)[:20]}"
                _send(findings, api, method, url, what, json=sent, headers=headers)
    assert not findings.failures, _report(findings)
    assert api.get("/api/v1/me", headers=headers).status_code == 200


def test_no_route_answers_5xx_to_hostile_input_anonymously(app: Flask, ids: Ids) -> None:
    client = app.test_client()
    names = parameter_names()
    findings = Findings()
    for rule in _rules(app):
        _fuzz_rule(findings, client, rule, ids, names, {}, None)
    assert not findings.failures, _report(findings)
