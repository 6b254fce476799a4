"""The flask commands of docs/interfaces.md ("Command line")."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.domains import get_domain
from webapp.services.users import get_user_by_email, user_for_token


def test_users_create_and_token(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Els@Punthelder.nl",
            "--role",
            "manager",
            "--password",
            "els-has-a-long-one",
        ]
    )
    assert result.exit_code == 0, result.output
    user = get_user_by_email("els@punthelder.nl")
    assert user is not None
    assert user.role == "manager"
    assert user.password_hash != "els-has-a-long-one"

    result = runner.invoke(args=["users", "token", "els@punthelder.nl"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    db.session.expire_all()
    assert user_for_token(token).email == "els@punthelder.nl"
    assert token not in [t.token_hash for t in user.tokens]  # only the hash is stored


def test_users_create_refuses_a_short_password_and_a_bad_role(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "a@b.nl", "--role", "manager", "--password", "short"]
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    result = runner.invoke(
        args=["users", "create", "a@b.nl", "--role", "god", "--password", "els-has-a-long-one"]
    )
    assert result.exit_code != 0
    assert get_user_by_email("a@b.nl") is None


def test_domains_seed_and_set(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert "created 4" in runner.invoke(args=["domains", "seed"]).output
    assert "created 0" in runner.invoke(args=["domains", "seed"]).output
    result = runner.invoke(
        args=[
            "domains",
            "set",
            "punthelder-seo.nl",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            "2525",
            "--smtp-tls",
            "none",
            "--smtp-password",
            "hunter2-secret",
            "--interval-seconds",
            "5",
            "--working-days",
            "1,2,3,4,5,6,7",
            "--aliases",
            '[{"alias": "anna", "display_name": "Anna"}]',
        ]
    )
    assert result.exit_code == 0, result.output
    assert "hunter2-secret" not in result.output
    printed = json.loads(result.output)
    assert printed["smtp_port"] == 2525
    assert printed["interval_seconds"] == 5
    assert printed["working_days"] == [1, 2, 3, 4, 5, 6, 7]
    db.session.expire_all()
    assert get_domain("punthelder-seo.nl").smtp_password == "hunter2-secret"


def test_domains_set_rejects_invalid_values(app: Flask) -> None:
    runner = app.test_cli_runner()
    runner.invoke(args=["domains", "seed"])
    result = runner.invoke(args=["domains", "set", "punthelder-seo.nl", "--interval-seconds", "0"])
    assert result.exit_code != 0
    assert "interval_seconds" in result.output
    db.session.expire_all()
    assert get_domain("punthelder-seo.nl").interval_seconds == 1200


def test_demo_seeds_the_whole_demo_once(app: Flask) -> None:
    from webapp.models import Campaign, ImportJob

    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[0])
    assert summary["leads"] == 2100
    assert summary["campaigns"] == 6
    assert "demo login (admin): admin@punthelder.nl / demo-campaigns" in result.output
    db.session.expire_all()
    statuses = set(db.session.execute(db.select(Campaign.status)).scalars())
    assert statuses == {"draft", "running", "paused", "completed", "stopped"}
    assert len(db.session.execute(db.select(ImportJob)).scalars().all()) == 4

    again = runner.invoke(args=["demo", "--if-empty"])
    assert json.loads(again.output.splitlines()[0]) == {"seeded": False}


def test_leads_import_takes_a_mapping_as_json_or_from_a_file(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "klanten.csv"
    source.write_text("Mail;Bedrijfsnaam;Contact\neva@klant.nl;Klant BV;Eva\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "leads",
            "import",
            str(source),
            "--list",
            "cli",
            "--mapping",
            '{"Contact": "first_name"}',
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["created"] == 1
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"Contact": "contactpersoon", "Bedrijfsnaam": null}', encoding="utf-8")
    result = runner.invoke(
        args=["leads", "import", str(source), "--list", "cli", "--mapping", f"@{mapping}"]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    lead = db.session.scalars(sa.select(Lead)).one()
    assert lead.vars == {"company": "Klant BV", "first_name": "Eva", "contactpersoon": "Eva"}


def test_leads_import_refuses_a_mapping_it_cannot_use(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "klanten.csv"
    source.write_text("Mail;Voornaam;Roepnaam\neva@klant.nl;Eva;Eef\n", encoding="utf-8")
    runner = app.test_cli_runner()
    for mapping, reason in [
        ("{oops", "not valid JSON"),
        ('{"Voornaam": "first_name", "Roepnaam": "first_name"}', "both go to First name"),
        (f"@{tmp_path / 'missing.json'}", "cannot read"),
    ]:
        result = runner.invoke(
            args=["leads", "import", str(source), "--list", "cli", "--mapping", mapping]
        )
        assert result.exit_code != 0, mapping
        assert "--mapping" in result.output and reason in result.output, result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0


def test_leads_import_reports_each_duplicate_row_and_the_row_it_kept(
    app: Flask, tmp_path: Path
) -> None:
    source = tmp_path / "team.csv"
    source.write_text("email;first_name\ninfo@bureau.nl;Anne\nINFO@bureau.nl;Eva\n")
    result = app.test_cli_runner().invoke(args=["leads", "import", str(source), "--list", "t"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["duplicates"] == [{"line": 3, "kept_line": 2, "email": "info@bureau.nl"}]
    assert (summary["created"], summary["skipped"]) == (1, 1)


def test_leads_import_of_a_pdf_says_it_is_a_pdf(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    result = app.test_cli_runner().invoke(args=["leads", "import", str(source), "--list", "x"])
    assert result.exit_code != 0
    assert "This looks like a PDF document, not a spreadsheet." in result.output


def test_serve_on_a_taken_port_says_which_and_how_to_choose_another(app: Flask) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = app.test_cli_runner().invoke(args=["serve", "--port", str(port)])

    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert f"Port {port} on 127.0.0.1 is already in use" in lines[0]
    assert f"make run PORT={port + 1}" in lines[0] and "--port" in lines[0]
    assert "Traceback" not in result.output


def test_users_reset_two_factor_for_a_lost_phone(app: Flask) -> None:
    from tests.support.two_factor import enrol
    from webapp.models import AuditEvent
    from webapp.services.users import create_user

    user = create_user("jan@punthelder.nl", "jan-has-a-long-one", "admin")
    enrol(user)
    session_token = user.session_token
    runner = app.test_cli_runner()

    result = runner.invoke(args=["users", "reset-two-factor", "Jan@Punthelder.nl"])
    assert result.exit_code == 0, result.output
    assert "switched off for jan@punthelder.nl" in result.output
    db.session.expire_all()
    assert not user.two_factor_enabled and user.totp_secret is None
    assert user.session_token != session_token
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset")
    ).one()
    assert event.subject_id == user.id and event.user_id is None

    again = runner.invoke(args=["users", "reset-two-factor", "jan@punthelder.nl"])
    assert again.exit_code == 0 and "was not on" in again.output
    unknown = runner.invoke(args=["users", "reset-two-factor", "nobody@punthelder.nl"])
    assert unknown.exit_code != 0 and "no user nobody@punthelder.nl" in unknown.output
