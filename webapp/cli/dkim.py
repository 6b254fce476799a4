"""`flask domains dkim-*` and `dns-check`: a domain's DKIM keys and DNS checks."""

from __future__ import annotations

import json
from pathlib import Path

import click

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import SendingDomain
from webapp.services.deliverability import (
    DkimRecord,
    activate_dkim_key,
    check_domain,
    checks_notice,
    generate_dkim_key,
    import_dkim_key,
    present_checks,
    rotate_dkim_key,
)
from webapp.services.domains import get_domain
from webapp.services.errors import ServiceError


def _domain(name: str) -> SendingDomain:
    domain = get_domain(name)
    if domain is None:
        raise click.BadParameter(f"no sending domain {name}", param_hint="NAME")
    return domain


def _done(record: DkimRecord) -> None:
    db.session.commit()
    click.echo(json.dumps(record.to_dict(), indent=2))
    click.echo(f"\nPublish:\n{record.zone_line}")


def register(group: click.Group) -> None:
    """Add the DKIM and DNS commands to `flask domains`."""

    @group.command("dkim-generate")
    @click.argument("name")
    def dkim_generate(name: str) -> None:
        """A new 2048-bit key: active on a domain without one, else pending; prints the
        record to publish (never the private key)."""
        try:
            _done(generate_dkim_key(_domain(name), None, utcnow()))
        except ServiceError as error:
            raise click.ClickException(str(error)) from None

    @group.command("dkim-import")
    @click.argument("name")
    @click.option("--selector", required=True, help="the selector the key is published under")
    @click.option("--key-file", required=True, type=click.Path(exists=True, dir_okay=False))
    def dkim_import(name: str, selector: str, key_file: str) -> None:
        """An existing RSA key (PEM, one key of 1024 to 4096 bits) under a selector the domain
        never used."""
        pem = Path(key_file).read_text(errors="replace")
        try:
            _done(import_dkim_key(_domain(name), selector, pem, None))
        except ServiceError as error:
            raise click.ClickException(str(error)) from None

    @group.command("dkim-rotate")
    @click.argument("name")
    def dkim_rotate(name: str) -> None:
        """A new pending key beside the active one; signing moves once it is published."""
        try:
            _done(rotate_dkim_key(_domain(name), None, utcnow()))
        except ServiceError as error:
            raise click.ClickException(str(error)) from None

    @group.command("dkim-activate")
    @click.argument("name")
    def dkim_activate(name: str) -> None:
        """Sign with the pending key, once the DNS shows its record."""
        try:
            _done(activate_dkim_key(_domain(name), None, utcnow()))
        except ServiceError as error:
            raise click.ClickException(str(error)) from None

    @group.command("dns-check")
    @click.argument("name")
    def dns_check(name: str) -> None:
        """Run the DNS checks of a domain now; prints them as JSON."""
        domain = _domain(name)
        check_domain(domain, utcnow())
        db.session.commit()
        answer = {
            "checks": present_checks(domain.dns_checks),
            "notice": checks_notice(domain.name, domain.dns_checks),
        }
        click.echo(json.dumps(answer, indent=2))
