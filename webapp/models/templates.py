"""Mail templates: a flow of one to four steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.database import created_at_column, id_column, utcnow
from webapp.extensions import Model


class Template(Model):
    __tablename__ = "templates"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )

    steps: Mapped[list[TemplateStep]] = relationship(
        back_populates="template",
        order_by="TemplateStep.mail_number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class TemplateStep(Model):
    __tablename__ = "template_steps"
    __table_args__ = (
        sa.UniqueConstraint("template_id", "mail_number", name="uk_template_steps_mail_number"),
        sa.CheckConstraint("mail_number BETWEEN 1 AND 4", name="chk_template_steps_mail_number"),
    )

    id: Mapped[str] = id_column()
    template_id: Mapped[str] = mapped_column(
        sa.ForeignKey("templates.id", ondelete="CASCADE"), index=True
    )
    mail_number: Mapped[int]
    subject: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    body_html: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    body_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Versions of the step for an experiment: [{key: "A".."D", subject?, body_html?,
    # body_text?, weight}]; a part a version leaves out is the step's own. Empty: none.
    variants: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")

    template: Mapped[Template] = relationship(back_populates="steps")
