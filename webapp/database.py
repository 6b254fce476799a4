"""Declarative base, naming convention and the column types every model shares.

Kept outside webapp/models so that extensions.py can import it without importing
every model (which import extensions.py in turn).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import DeclarativeBase, registry

from webapp.sealing import seal, unseal

# Stable constraint names, so migrations can refer to them. Check constraints and
# indexes carry the original review's names (chk_..., idx_..., uk_...; docs/rules.md).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SealedText(sa.TypeDecorator[str]):
    """Text sealed on the way in and opened on the way out (`webapp.sealing`): a secret
    that the database, its backups and its dumps only hold encrypted."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:

        return seal(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str | None:

        return unseal(value)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps `timestamptz`; SQLite keeps text without an offset, so
    values are converted to UTC on the way in and marked UTC on the way out.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON everywhere; JSONB on PostgreSQL for its operators and indexes.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


def new_id() -> str:
    """A 32-character, time-ordered string id (UUIDv7 layout, hex).

    Time-ordered ids keep B-tree inserts at the right edge of the index,
    which matters for the messages and events tables.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    return f"{value:032x}"


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            dict[str, Any]: JSONType,
            list[Any]: JSONType,
        },
    )

    if TYPE_CHECKING:
        # Every model maps one table (none maps a join or a select), so `Model.__table__`
        # can go wherever SQLAlchemy wants a Table: insert(), update(), COPY.
        __table__: ClassVar[sa.Table]


def affected_rows(result: Result[*tuple[Any, ...]]) -> int:
    """The number of rows an UPDATE, DELETE or INSERT statement matched.

    `Session.execute()` is typed to return a plain `Result`; for those statements it is a
    `CursorResult`, which is what carries `rowcount`.
    """
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount


def id_column() -> Any:
    """The primary key column every table shares."""
    from sqlalchemy.orm import mapped_column

    return mapped_column(sa.String(32), primary_key=True, default=new_id)


def created_at_column() -> Any:
    from sqlalchemy.orm import mapped_column

    return mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, server_default=sa.func.now()
    )


def one_of(column: str, values: Iterable[str]) -> str:
    """`column IN ('a', 'b')`: a check constraint's text, built from the values the code uses."""
    # The text must stay exactly what the migrations wrote; the values hold no quotes.
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"
