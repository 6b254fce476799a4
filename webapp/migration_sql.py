"""The SQL files of the trigger revisions (migrations/sql/), read into statements.

A statement ends with a semicolon and a blank line, lines starting with -- are comments, and
an indented line continues the line above it: it is joined on with one space, so the wrapping
that makes a file readable never reaches the database. Every revision that keeps its SQL in a
file reads it here, so they all read it alike.
"""

from __future__ import annotations

from pathlib import Path


def sql_statements(path: Path) -> list[str]:
    """The statements of one SQL file, each without its closing semicolon."""
    name = path.name
    statements: list[str] = []
    lines: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.rstrip()
        if line.lstrip().startswith("--"):
            continue
        if line and line[0].isspace():
            if not lines:
                raise ValueError(f"{name}: a statement starts with an indented line: {line!r}")
            lines[-1] += " " + line.lstrip()
        elif line:
            lines.append(line)
        elif lines:
            statement = "\n".join(lines)
            if not statement.endswith(";"):
                raise ValueError(f"{name}: a blank line inside a statement: {lines[-1]!r}")
            statements.append(statement[:-1])
            lines = []
    return statements
