"""The agency-scale data set, and every page's latency on it through gunicorn (issue 18).

    .venv/bin/python bench/scale.py build   [--database-url URL] [--seed N] [--now ISO] [--rebuild]
    .venv/bin/python bench/scale.py measure [--database-url URL] [--runs N]

build: creates the PostgreSQL database (default postgresql://postgres@127.0.0.1:5432/
campaigns_scale), migrates it and fills it: the demo world (3 users, 4 domains, the template,
2,100 leads, 6 campaigns), then 300,000 leads in 26 lists (30 lists, 302,100 leads), 196 more
sending domains (184 at a 60-second pace, 12 at the default 20 minutes; default windows and
working days), and 35 more campaigns (41): 24 finished ones with history (2 of them stopped),
a running one with ~107k messages, 6 more running, one paused with ~86k queued mails, a draft
whose audience is ~26.8k leads, and two small drafts. About 960k messages, ~1.5M events.

What goes through the product: the leads through the lead import (`import_file`, one CSV per
list, as bench/import.py drives it); campaigns through `create_campaign` and the lifecycle
(`apply_action` start/pause/stop, so every plan is the planner's), each at its moment in the
past, in time order. What is SQL (set-based, as the product's paths would take hours here):
delivering the mails due before each moment (status sent/opened, sent_at, open_at), then
bounces, replies and unsubscribes (with the lead's later mails canceled, the lead suppressed),
the sent/open/click/... events, the leads' last_emailed_at and creation dates. The KPI
triggers are off for the build's connections (session_replication_role = replica) and the
summaries are rebuilt once at the end with the product's `rebuild_summaries`.

"Now": the build's moment floored to the hour (or --now); every date is relative to it and
it is kept in the marker, so two builds with the same seed and --now are the same shape
(row ids and the random draws of the SQL steps differ; counts agree to a fraction of a
percent). measure prints how old the data set is: a run days later sees the same rows, but
"now" has moved past some of the queued mails.

Safety: the database gets a table `bench_scale_marker` (seed, now, sizes, complete) as soon
as it is created. build refuses a database without it, does nothing for a complete one, and
`--rebuild` drops only a database that carries it.

measure: `flask db upgrade`, then gunicorn as the README runs it (2 gthread workers, 4 threads
each) on a free port; logs in as each role
through the login form and requests each page of PAGES N times after a warm-up; prints a
markdown table of p50/p95 with the ratio to /healthz in the same run, and the workers' RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/campaigns_scale"
MARKER = "bench_scale_marker"
PASSWORD = "demo-campaigns"
USERS = {
    "admin": "admin@punthelder.nl",
    "marketer": "marketer@punthelder.nl",
    "manager": "manager@punthelder.nl",
}


class Refused(SystemExit):
    pass


# -- the database and its marker -------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), name


def _connect(url: str, autocommit: bool = False) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=autocommit)


def database_exists(url: str) -> bool:
    admin, name = _admin_url(url)
    with _connect(admin, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def read_marker(url: str) -> dict[str, Any] | None:
    """The marker row, or None when the database has no marker table."""
    with _connect(url) as conn:
        present = conn.execute("SELECT to_regclass(%s)", (MARKER,)).fetchone()[0]
        if present is None:
            return None
        row = conn.execute(
            f"SELECT seed, now, sizes, complete, built_at FROM {MARKER} LIMIT 1"
        ).fetchone()
    if row is None:
        return {"seed": None, "now": None, "sizes": {}, "complete": False, "built_at": None}
    seed, now, sizes, complete, built_at = row
    return {"seed": seed, "now": now, "sizes": sizes or {}, "complete": complete,
            "built_at": built_at}  # fmt: skip


def create_database(url: str, seed: int, now: datetime) -> None:
    """CREATE DATABASE and put the marker in it at once (before anything can fail)."""
    from psycopg import sql

    admin, name = _admin_url(url)
    with _connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with _connect(url) as conn:
        conn.execute(
            f"CREATE TABLE {MARKER} (seed integer NOT NULL, now timestamptz NOT NULL, "
            "sizes jsonb NOT NULL DEFAULT '{}', complete boolean NOT NULL DEFAULT false, "
            "built_at timestamptz)"
        )
        conn.execute(f"INSERT INTO {MARKER} (seed, now) VALUES (%s, %s)", (seed, now))


def drop_marked_database(url: str) -> None:
    """Drop the database, only if it carries the marker."""
    from psycopg import sql

    if read_marker(url) is None:
        raise Refused(f"refusing to drop {url}: it has no {MARKER} table, so this bench did "
                      "not create it")  # fmt: skip
    admin, name = _admin_url(url)
    with _connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def check_target(url: str, rebuild: bool) -> str:
    """'create' (absent), 'done' (complete) or Refused; drops a marked one for --rebuild."""
    if not database_exists(url):
        return "create"
    marker = read_marker(url)
    if marker is None:
        raise Refused(
            f"refusing: {url} exists and has no {MARKER} table; this bench only fills (and "
            "drops) databases it created; choose another --database-url"
        )
    if rebuild:
        drop_marked_database(url)
        return "create"
    if marker["complete"]:
        return "done"
    raise Refused(f"{url} holds an unfinished build (marker present, not complete); run "
                  "again with --rebuild to drop it and start over")  # fmt: skip


# -- build ------------------------------------------------------------------------------------


class Phases:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.last = self.start

    def done(self, what: str) -> None:
        now = time.perf_counter()
        print(f"  [{now - self.start:7.1f} s] {what} ({now - self.last:.1f} s)", flush=True)
        self.last = now


def build(url: str, seed: int, now: datetime | None, rebuild: bool) -> None:
    state = check_target(url, rebuild)
    if state == "done":
        marker = read_marker(url)
        assert marker is not None
        print(f"{url} already holds a complete data set (seed {marker['seed']}, now "
              f"{marker['now']:%Y-%m-%d %H:%M} UTC, built {marker['built_at']:%Y-%m-%d %H:%M});"
              " nothing to do (--rebuild drops and builds it again)")  # fmt: skip
        print_logins()
        return
    now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    print(f"building {url}: seed {seed}, now {now.isoformat()}", flush=True)
    create_database(url, seed, now)
    phases = Phases()
    app = _app(url, triggers=False)
    with app.app_context():
        _migrate()
        phases.done("migrations")
        from scale_build import Builder

        _other_triggers("ENABLE ALWAYS")
        sizes = Builder(app, seed, now, phases).run()
        _other_triggers("ENABLE")
    with _connect(url) as conn:
        conn.execute(
            f"UPDATE {MARKER} SET complete = true, built_at = now(), sizes = %s",
            (json.dumps(sizes),),
        )
    phases.done("marker complete")
    print(json.dumps(sizes, indent=1))
    print_logins()


def print_logins() -> None:
    for role, email in USERS.items():
        print(f"login ({role}): {email} / {PASSWORD}")


def _app(url: str, triggers: bool = True) -> Any:
    import sqlalchemy as sa

    from webapp import create_app
    from webapp.config import normalise_database_url
    from webapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
                      "SECRET_KEY": "bench-scale", "REDIS_URL": None})  # fmt: skip
    if not triggers:
        with app.app_context():
            engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _replica(dbapi_connection: Any, _record: Any) -> None:
            # Bulk load: the KPI triggers (and FK checks) are off; summaries rebuilt at the end.
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
            dbapi_connection.commit()

    return app


def _other_triggers(state: str) -> None:
    """Set every trigger but the KPI ones to `state` (ENABLE ALWAYS: they fire for the
    build's replica-role connections too; ENABLE: back to normal)."""
    import sqlalchemy as sa

    from webapp.extensions import db

    rows = db.session.execute(
        sa.text(
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgname NOT LIKE 'kpis\\_%'"
        )
    ).all()
    for table, name in rows:
        db.session.execute(sa.text(f'ALTER TABLE {table} {state} TRIGGER "{name}"'))
    db.session.commit()


def _migrate() -> None:
    import logging

    from flask_migrate import upgrade

    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade()


# -- measure ----------------------------------------------------------------------------------

# Every page the bench times: (name, role, method, path, options). Paths take {running} (the
# 107k running campaign), {draft} (the 26.8k draft), {lead} (a lead of the running campaign).
# options: "deep": reach page N of that list (see --deep); "form": a POST like the campaign
# builder's (with the CSRF token).
PREVIEW_FORM = {"list_names": ["{list_a}", "{list_b}"], "only_complete": "on",
                "exclude_suppressed": "on", "exclude_recent": "on", "exclude_recent_days": "14",
                "one_per_domain": "on"}  # fmt: skip
PAGES: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("campaign page, running 107k", "marketer", "GET", "/campaigns/{running}", {}),
    ("dry run API, draft 26.8k", "marketer", "GET", "/api/v1/campaigns/{draft}/dry-run", {}),
    ("dry run page, draft 26.8k", "marketer", "GET", "/planning/campaigns/{draft}/dry-run", {}),
    ("dry run API, running 107k", "marketer", "GET", "/api/v1/campaigns/{running}/dry-run", {}),
    ("dry run page, running 107k", "marketer", "GET", "/planning/campaigns/{running}/dry-run", {}),
    ("domain availability page", "marketer", "GET", "/planning/availability", {}),
    ("domain availability API", "marketer", "GET", "/api/v1/domains/availability", {}),
    ("calendar", "manager", "GET", "/calendar", {}),
    ("campaigns list", "marketer", "GET", "/campaigns/", {}),
    ("GET /api/v1/campaigns", "marketer", "GET", "/api/v1/campaigns", {}),
    ("leads search ?q=bakkerij", "marketer", "GET", "/leads/?q=bakkerij", {}),
    ("leads first page", "marketer", "GET", "/leads/", {}),
    ("leads page 500", "marketer", "GET", "/leads/", {"deep": 500}),
    ("leads page 6000", "marketer", "GET", "/leads/", {"deep": 6000}),
    ("messages of the 107k campaign, page 1", "marketer", "GET", "/campaigns/{running}/messages",
     {}),
    ("messages of the 107k campaign, page 2000", "marketer", "GET", "/campaigns/{running}/messages",
     {"deep": 2000}),
    ("audience preview, two 30k lists", "marketer", "POST", "/campaigns/audience-preview",
     {"form": PREVIEW_FORM, "csrf_from": "/campaigns/new"}),
    ("overview", "manager", "GET", "/", {}),
    ("KPIs of the 107k campaign", "manager", "GET", "/kpis/campaigns/{running}/kpis", {}),
    ("timeline of the 107k campaign", "manager", "GET", "/kpis/campaigns/{running}/timeline", {}),
    ("lead page", "marketer", "GET", "/leads/{lead}", {}),
    ("inbox", "marketer", "GET", "/inbox/", {}),
    ("templates", "marketer", "GET", "/templates/", {}),
    ("domains", "admin", "GET", "/domains/", {}),
]  # fmt: skip
EXPORT_PATH = "/leads/export.csv"
EXPORT_ROLE = "manager"


class Client:
    """One logged-in browser: cookies, and every request on a fresh connection (gunicorn's
    sync workers close each one anyway)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: bytes | None = None,
        headers: dict[str, str] | None = None, stream: bool = False,
    ) -> tuple[int, bytes, dict[str, str], float, float]:  # fmt: skip
        """(status, body, headers, seconds to first byte, seconds in all)."""
        import http.client

        sent = {"Accept-Language": "nl", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            first = response.read(1)
            ttfb = time.perf_counter() - start
            if stream:
                size = len(first)
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                data = str(size).encode()
            else:
                data = first + response.read()
            total = time.perf_counter() - start
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return response.status, data, dict(response.getheaders()), ttfb, total
        finally:
            conn.close()

    def csrf(self, path: str) -> str:
        import re

        status, body, *_ = self.request("GET", path)
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
            rb'"X-CSRFToken": "([^"]+)"', body
        )
        if match is None:
            raise SystemExit(f"no CSRF token on {path} (status {status})")
        return match.group(1).decode()

    def login(self, email: str) -> None:
        from urllib.parse import urlencode

        token = self.csrf("/login")
        body = urlencode({"csrf_token": token, "email": email, "password": PASSWORD,
                          "next": "/"}).encode()  # fmt: skip
        status, *_ = self.request(
            "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status not in (302, 303):
            raise SystemExit(f"login as {email} answered {status}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DATABASE_URL": url, "SECRET_KEY": env.get("BENCH_SECRET_KEY", "bench-scale"),
                "FLASK_APP": "wsgi"})  # fmt: skip
    return env


def _workers(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def _memory(pids: list[int]) -> dict[int, tuple[int, int]]:
    """VmRSS and VmHWM in MiB per process."""
    out = {}
    for pid in pids:
        values = {}
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) // 1024
        out[pid] = (values.get("VmRSS", 0), values.get("VmHWM", 0))
    return out


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _deep_cursor(url: str, path: str, page: int) -> str | None:
    """The cursor a user holds on page `page` of the list at `path` after following "next"
    (the position just after the previous page's last row), made with the product's own
    cursor classes from the row SQL finds there; None for a list that has no cursor."""
    from datetime import datetime as moment

    offset = (page - 1) * 50 - 1
    with _connect(url) as conn:
        if path.rstrip("/") == "/leads":
            from webapp.services.leads.paging import COUNT_CAP, Cursor

            row = conn.execute(
                "SELECT created_at, id FROM leads WHERE deleted_at IS NULL"
                " ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                (offset,),
            ).fetchone()
            if row is None:
                return None
            created: moment = row[0]
            return Cursor("created", "desc", created, row[1], count=COUNT_CAP + 1).encode()
        if path.endswith("/messages"):
            from webapp.services.campaigns.message_pages import MessageCursor

            campaign_id = path.split("/")[2]
            row = conn.execute(
                "SELECT scheduled_at, mail_number, id FROM messages WHERE campaign_id = %s"
                " ORDER BY scheduled_at, mail_number, id OFFSET %s LIMIT 1",
                (campaign_id, offset),
            ).fetchone()
            if row is None:
                return None
            return MessageCursor(row[0], row[1], row[2], position=offset + 1).encode()
    return None


def _resolve_deep(client: Client, url: str, path: str, page: int, how: str) -> str:
    """The address of page `page`: by the cursor a user would hold there (how="cursor"),
    by number (?page=N, an OFFSET) or by following the rel="next" links from page 1."""
    import re

    joiner = "&" if "?" in path else "?"
    if how == "cursor":
        cursor = _deep_cursor(url, path, page)
        if cursor is not None:
            return f"{path}{joiner}cursor={cursor}"
    if how != "follow":
        return f"{path}{joiner}page={page}"
    current = path
    for _hop in range(page - 1):
        _status, body, *_ = client.request("GET", current)
        match = re.search(rb'<a[^>]*rel="next"[^>]*href="([^"]+)"', body) or re.search(
            rb'<a[^>]*href="([^"]+)"[^>]*rel="next"', body
        )
        if match is None:
            break
        current = match.group(1).decode().replace("&amp;", "&")
    return current


def api_tokens(url: str) -> dict[str, str]:
    """A bearer token per role for the JSON API, made once (by the product's create_token)
    and kept in the marker; only their hashes are in api_tokens."""
    marker = read_marker(url)
    assert marker is not None
    tokens = marker["sizes"].get("api_tokens")
    if tokens:
        return dict(tokens)
    from webapp.extensions import db
    from webapp.services.users import create_token, get_user_by_email

    app = _app(url)
    with app.app_context():
        tokens = {}
        for role, email in USERS.items():
            user = get_user_by_email(email)
            assert user is not None, email
            tokens[role] = create_token(user, "bench/scale.py")[1]
        db.session.commit()
        db.engine.dispose()
    with _connect(url) as conn:
        conn.execute(
            f"UPDATE {MARKER} SET sizes = sizes || jsonb_build_object('api_tokens', %s::jsonb)",
            (json.dumps(tokens),),
        )
    return tokens


def _placeholders(url: str) -> dict[str, str]:
    marker = read_marker(url)
    if marker is None or not marker["complete"]:
        raise SystemExit(f"{url} holds no complete data set: run `bench/scale.py build` first")
    ids = marker["sizes"]["campaign_ids"]
    with _connect(url) as conn:
        lead = conn.execute(
            "SELECT lead_id FROM messages WHERE campaign_id = %s ORDER BY scheduled_at LIMIT 1",
            (ids["running_107k"],),
        ).fetchone()[0]
        lists = [row[0] for row in conn.execute(
            "SELECT list_name FROM leads GROUP BY list_name ORDER BY count(*) DESC, list_name "
            "LIMIT 2"
        )]  # fmt: skip
    age = datetime.now(UTC) - marker["now"]
    print(f"data set: seed {marker['seed']}, built around {marker['now']:%Y-%m-%d %H:%M} UTC "
          f"({age.total_seconds() / 86400:.1f} days ago); {marker['sizes'].get('leads'):,} leads, "
          f"{marker['sizes'].get('messages'):,} messages, "
          f"{marker['sizes'].get('events'):,} events")  # fmt: skip
    return {"running": ids["running_107k"], "draft": ids["draft_26k"],
            "paused": ids["paused_86k"], "lead": lead, "list_a": lists[0],
            "list_b": lists[-1]}  # fmt: skip


def measure(url: str, runs: int, only: str | None, deep: str, budget: float) -> None:
    import subprocess
    import threading
    from urllib.parse import urlencode

    env = _server_env(url)
    subprocess.run([str(ROOT / ".venv/bin/flask"), "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)  # fmt: skip
    values = _placeholders(url)
    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "--worker-class", "gthread", "--threads",
         "4", "-b", f"127.0.0.1:{port}", "--timeout",
         "300", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        anonymous = Client(port)
        for _ in range(300):
            try:
                if anonymous.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        tokens = api_tokens(url)
        clients = {role: Client(port) for role in USERS}
        for role, client in clients.items():
            client.login(USERS[role])
        workers = _workers(server.pid)
        before = _memory(workers)
        print(f"gunicorn on port {port}, workers {workers}; {runs} runs per page after a warm-up")

        def timed(client: Client, method: str, path: str, body: bytes | None,
                  headers: dict[str, str]) -> tuple[list[float], int, int]:  # fmt: skip
            status, data, *_ = client.request(method, path, body, headers)  # warm-up
            times: list[float] = []
            started = time.perf_counter()
            for _ in range(runs):
                status, data, _h, _f, total = client.request(method, path, body, headers)
                times.append(total * 1000)
                if len(times) >= 5 and time.perf_counter() - started > budget:
                    break  # a slow page: fewer runs, said in the table
            return times, status, len(data)

        health, _s, _n = timed(anonymous, "GET", "/healthz", None, {})
        h50, h95 = _quantile(health, 0.5), _quantile(health, 0.95)
        rows = [("`/healthz`", "-", h50, h95, 200, 0, len(health))]
        wanted = {name.strip() for name in only.split(";")} if only else None
        for name, role, method, path, options in PAGES:
            if wanted and name not in wanted:
                continue
            client = clients[role]
            path = path.format(**values)
            body, headers = None, {}
            if path.startswith("/api/"):
                headers = {"Authorization": f"Bearer {tokens[role]}"}
            if "deep" in options:
                path = _resolve_deep(client, url, path, options["deep"], deep)
            if "form" in options:
                token = client.csrf(options["csrf_from"])
                form = {k: [v.format(**values) for v in vs] if isinstance(vs, list)
                        else vs for k, vs in options["form"].items()}  # fmt: skip
                form["csrf_token"] = token
                body = urlencode(form, doseq=True).encode()
                headers = {"Content-Type": "application/x-www-form-urlencoded",
                           "X-CSRFToken": token, "HX-Request": "true"}  # fmt: skip
            start = time.perf_counter()
            times, status, size = timed(client, method, path, body, headers)
            rows.append(
                (
                    name,
                    role,
                    _quantile(times, 0.5),
                    _quantile(times, 0.95),
                    status,
                    size,
                    len(times),
                )
            )
            print(f"  {name}: p50 {rows[-1][2]:,.0f} ms, p95 {rows[-1][3]:,.0f} ms, status "
                  f"{status}, {size:,} bytes ({time.perf_counter() - start:.0f} s)",
                  flush=True)  # fmt: skip

        print(
            "\n| page | role | runs | p50 ms | p95 ms | p50 / healthz | p95 / healthz | status "
            "| KB |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, role, p50, p95, status, size, n in rows:
            print(f"| {name} | {role} | {n} | {p50:,.0f} | {p95:,.0f} | {p50 / h50:,.1f}x | "
                  f"{p95 / h95:,.1f}x | {status} | {size / 1024:,.0f} |")  # fmt: skip

        # The leads export: first byte, whole body, and what it did to the workers' memory.
        if not wanted or "export" in wanted:
            client = clients[EXPORT_ROLE]
            print(f"\nleads export ({EXPORT_PATH}):")
            for _ in range(min(runs, 2)):
                mem = _memory(workers)
                status, size, _h, ttfb, total = client.request("GET", EXPORT_PATH, stream=True)
                after_export = _memory(workers)
                growth = max(after_export[p][0] - mem[p][0] for p in workers)
                print(f"  status {status}, {int(size) / 1e6:,.1f} MB: first byte {ttfb:,.2f} s, "
                      f"all {total:,.2f} s; largest worker RSS growth {growth:,} MiB, "
                      f"VmHWM now {max(v[1] for v in after_export.values()):,} MiB")  # fmt: skip
            results: list[float] = []

            def export() -> None:
                _status, _size, _h, _ttfb, total = Client.request(
                    _clone(client), "GET", EXPORT_PATH, stream=True
                )
                results.append(total)

            threads = [threading.Thread(target=export) for _ in range(2)]
            for thread in threads:
                thread.start()
            time.sleep(0.5)
            waits = []
            while any(thread.is_alive() for thread in threads):
                waits.append(anonymous.request("GET", "/healthz")[4] * 1000)
                time.sleep(0.2)
            for thread in threads:
                thread.join()
            print(f"  two exports at once: {', '.join(f'{t:,.1f} s' for t in results)}; "
                  f"/healthz meanwhile ({len(waits)} requests): p50 "
                  f"{_quantile(waits, 0.5):,.0f} ms, max {max(waits or [0]):,.0f} ms")  # fmt: skip

        after = _memory(workers)
        print("\nworker memory (VmRSS / VmHWM, MiB):")
        for pid in workers:
            print(f"  worker {pid}: before {before[pid][0]:,} / {before[pid][1]:,}, after "
                  f"{after[pid][0]:,} / {after[pid][1]:,}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)


def _clone(client: Client) -> Client:
    copy = Client(client.port)
    copy.cookies = dict(client.cookies)
    return copy


# -- command line -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="create and fill the data set")
    b.add_argument("--database-url", default=DEFAULT_URL)
    b.add_argument("--seed", type=int, default=None)
    b.add_argument("--now", help="ISO moment the data set is built around (default: this hour)")
    b.add_argument("--rebuild", action="store_true", help="drop a marked database first")
    m = sub.add_parser("measure", help="time every page through gunicorn")
    m.add_argument("--database-url", default=DEFAULT_URL)
    m.add_argument("--runs", type=int, default=20)
    m.add_argument("--only", help="page names separated by ';', or 'export' (default: all)")
    m.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per page after which a slow page stops (at least 5 runs)",
    )
    m.add_argument(
        "--deep",
        choices=("cursor", "page", "follow"),
        default="cursor",
        help="reach deep pages as a user holds them after following next (cursor, default),"
        ' by number (?page=N, an OFFSET) or by following the rel="next" links one by one',
    )
    args = parser.parse_args()
    if args.command == "build":
        from scale_data import DEFAULT_SEED

        now = datetime.fromisoformat(args.now).astimezone(UTC) if args.now else None
        build(args.database_url, args.seed if args.seed is not None else DEFAULT_SEED, now,
              args.rebuild)  # fmt: skip
    else:
        measure(args.database_url, args.runs, args.only, args.deep, args.budget)


if __name__ == "__main__":
    main()
