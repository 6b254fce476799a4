"""`flask domains ...`: the sending domains' defaults and settings."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import AppGroup

from webapp.cli import dkim
from webapp.extensions import db
from webapp.services import two_factor
from webapp.services.domains import (
    EDITABLE_FIELDS,
    DomainSettingsError,
    domain_to_dict,
    get_domain,
    reseal_domain_secrets,
    seed_default_domains,
    update_domain,
)

domains_cli = AppGroup("domains", help="Sending domains.")
dkim.register(domains_cli)


@domains_cli.command("seed")
def domains_seed() -> None:
    """Create the four default sending domains that are missing."""
    created = seed_default_domains()
    db.session.commit()
    click.echo(f"created {len(created)} sending domain(s)")


@domains_cli.command("reseal")
def domains_reseal() -> None:
    """Seal every domain secret, and the users' two-factor keys, under the current
    SECRET_KEY (run after changing it)."""
    keys = two_factor.reseal_secrets()
    count = reseal_domain_secrets() + keys
    db.session.commit()
    click.echo(f"sealed {count} secret(s) under the current SECRET_KEY ({keys} two-factor keys)")


def _domain_set_options(command: Any) -> Any:
    """One option per editable field, named like the API's (`--smtp-host`, ...)."""
    for field in reversed(EDITABLE_FIELDS):
        help_text = "JSON list of {alias, display_name}" if field == "aliases" else None
        if field == "working_days":
            help_text = "comma-separated weekdays, Monday 1"
        command = click.option(f"--{field.replace('_', '-')}", field, default=None, help=help_text)(
            command
        )
    return command


@domains_cli.command("set")
@click.argument("name")
@_domain_set_options
def domains_set(name: str, **options: str | None) -> None:
    """Change a sending domain's settings; prints the domain (without secrets) as JSON."""
    domain = get_domain(name)
    if domain is None:
        raise click.BadParameter(f"no sending domain {name}", param_hint="NAME")
    changes: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if "aliases" in changes:
        try:
            changes["aliases"] = json.loads(changes["aliases"])
        except json.JSONDecodeError:
            raise click.BadParameter("must be a JSON list", param_hint="--aliases") from None
    try:
        update_domain(domain, changes)
    except DomainSettingsError as error:
        db.session.rollback()
        raise click.ClickException(f"invalid settings: {error}") from None
    db.session.commit()
    click.echo(json.dumps(domain_to_dict(domain), indent=2))
