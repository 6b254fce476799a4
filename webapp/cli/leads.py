"""`flask --app wsgi leads ...`: lead commands."""

from __future__ import annotations

import json
import os

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.services.leads import (
    ImportFileError,
    ImportMappingError,
    import_file,
    parse_choices,
    record_import,
)

leads_cli = AppGroup("leads", help="Leads.")


@leads_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--list", "list_name", required=True, help="The list the leads go into.")
@click.option(
    "--mapping",
    help='File column -> field or variable, as JSON (\'{"Bedrijfsnaam": "company"}\'; '
    "null skips a column), or @FILE to read it from a file. Columns not named keep the "
    "mapping their header suggests.",
)
def leads_import(file: str, list_name: str, mapping: str | None) -> None:
    """Import a CSV or xlsx file; prints the summary as JSON."""
    try:
        choices = parse_choices(_read_mapping(mapping))
        summary = import_file(file, list_name, choices=choices)
        record_import(os.path.basename(file), list_name, summary, None)
    except ImportMappingError as error:
        db.session.rollback()
        raise click.BadParameter(str(error), param_hint="--mapping") from None
    except ImportFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))


def _read_mapping(value: str | None) -> str | None:
    """The mapping's JSON: the option itself, or the file named after an `@`."""
    if value is None or not value.startswith("@"):
        return value
    try:
        with open(value[1:], encoding="utf-8-sig") as handle:
            return handle.read()
    except OSError as error:
        raise click.BadParameter(
            f"cannot read {value[1:]}: {error.strerror}", param_hint="--mapping"
        ) from None
