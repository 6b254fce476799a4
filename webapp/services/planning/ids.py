"""Filters on long lists of ids (an audience of 30,000 leads).

`IN (...)` with thousands of values makes SQLAlchemy render, and psycopg parse, one
parameter per value: for 26,800 ids that cost seconds before PostgreSQL saw the query.
PostgreSQL takes the whole list as one parameter instead; SQLite keeps `IN` in
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
    """`column IN ids`: one parameter on PostgreSQL."""
    if _on_postgresql():
        # One text parameter split by the server: psycopg quotes each element of a list
        # it sends as an array (0.1 s for 26,800 ids). Ids hold no commas.
        joined = sa.bindparam(None, ",".join(ids), type_=sa.Text)
        result: sa.ColumnElement[bool] = column == sa.any_(
            sa.func.string_to_array(joined, ",", type_=ARRAY(sa.String))
        )
    else:
        result = column.in_(ids)
    return result
