"""Lead imports that run in the background, with their progress and summary."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import created_at_column, id_column, one_of
from webapp.extensions import Model


class ImportStatus(StrEnum):
    """pending (uploaded, previewed) -> running -> done or failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


IMPORT_STATUSES: tuple[str, ...] = tuple(status.value for status in ImportStatus)


class ImportJob(Model):
    __tablename__ = "import_jobs"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", IMPORT_STATUSES), name="chk_import_jobs_status"),
        sa.Index("idx_import_jobs_created_at", "created_at"),
    )

    id: Mapped[str] = id_column()
    list_name: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(255))
    # Where the uploaded file waits for the worker; removed when the import ends.
    stored_path: Mapped[str | None] = mapped_column(sa.Text)
    # Detected or chosen: encoding, delimiter, column mapping.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(
        sa.String(16), default=ImportStatus.PENDING, server_default=ImportStatus.PENDING.value
    )
    total_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    processed_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    processed_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    # {created, updated, unchanged, skipped, errors: [{line, message}]}
    summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    # When the running import last committed a batch: a job quiet for long has stopped.
    progressed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ImportUpload(Model):
    """The bytes of an upload waiting for its import, kept in the database so that any web
    machine or worker can preview or run it; deleted when the import ends."""

    __tablename__ = "import_uploads"

    job_id: Mapped[str] = mapped_column(
        sa.ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
