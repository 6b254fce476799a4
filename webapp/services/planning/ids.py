"""Filters on long lists of ids (an audience of 30,000 leads).

`IN (...)` with thousands of values makes SQLAlchemy render, and psycopg parse, one
parameter per value: for 26,800 ids that cost seconds before PostgreSQL saw the query.
PostgreSQL takes the whole list as one array parameter instead; SQLite keeps `IN` in
chunks its parameter limit allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from webapp.extensions import db

# At most this many ids in one `IN` on SQLite.
CHUNK = 5000


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def id_chunks(ids: list[str]) -> Iterator[list[str]]:
    """The ids in as few pieces as one query can take: one on PostgreSQL."""
    if not ids:
        return
    size = len(ids) if _on_postgresql() else CHUNK
    for offset in range(0, len(ids), size):
        yield ids[offset : offset + size]


def among(column: Any, ids: list[str]) -> sa.ColumnElement[bool]:
    """`column IN ids`: one array parameter on PostgreSQL."""
    if _on_postgresql():
        result: sa.ColumnElement[bool] = column == sa.any_(
            sa.bindparam(None, ids, type_=ARRAY(sa.String))
        )
    else:
        result = column.in_(ids)
    return result
