"""`flask --app wsgi leads ...`: lead commands."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.services.leads import ImportFileError, import_file

leads_cli = AppGroup("leads", help="Leads.")


@leads_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--list", "list_name", required=True, help="The list the leads go into.")
def leads_import(file: str, list_name: str) -> None:
    """Import a CSV or xlsx file; prints the summary as JSON."""
    try:
        summary = import_file(file, list_name)
    except ImportFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
