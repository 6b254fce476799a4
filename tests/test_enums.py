"""The status enums are the lists the database checks: same values, same constraint text."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    CampaignStatus,
    ImportStatus,
    LeadStatus,
    MessageStatus,
    Role,
    SmtpTls,
    SuppressionReason,
)

FIRST_MIGRATION = (
    Path(__file__).resolve().parent.parent
    / "migrations"
    / "versions"
    / "0001_the_whole_data_model.py"
)
CHECKED_BY = {
    "chk_messages_status": MessageStatus,
    "chk_campaigns_status": CampaignStatus,
    "chk_leads_status": LeadStatus,
    "chk_suppressions_reason": SuppressionReason,
    "chk_import_jobs_status": ImportStatus,
    "chk_users_role": Role,
    "chk_sending_domains_smtp_tls": SmtpTls,
}


def migrated_check_texts() -> dict[str, str]:
    """Each check constraint's text as the first migration created it."""
    source = FIRST_MIGRATION.read_text(encoding="utf-8")
    found = re.findall(r"sa\.CheckConstraint\(\"([^\"]*)\", name=op\.f\('(\w+)'\)\)", source)
    return {name: text for text, name in found}


def model_check_texts() -> dict[str, str]:
    return {
        str(constraint.name): str(constraint.sqltext)
        for table in db.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, sa.CheckConstraint)
    }


@pytest.mark.parametrize("name", sorted(CHECKED_BY))
def test_the_model_checks_the_text_the_migration_wrote(name: str) -> None:
    # Autogenerate does not compare check constraints, so this is what keeps them equal.
    assert model_check_texts()[name] == migrated_check_texts()[name]


@pytest.mark.parametrize("name", sorted(CHECKED_BY))
def test_the_constraint_allows_exactly_the_enum(name: str) -> None:
    allowed = re.findall(r"'([^']*)'", migrated_check_texts()[name])
    assert allowed == [member.value for member in CHECKED_BY[name]]


@pytest.mark.parametrize("enum", sorted(set(CHECKED_BY.values()), key=lambda e: e.__name__))
def test_a_member_is_its_value_wherever_a_string_goes(enum: type[StrEnum]) -> None:
    member = next(iter(enum))
    assert member == member.value and hash(member) == hash(member.value)
    assert f"{member}" == str(member) == member.value
    assert json.dumps({member: member}) == json.dumps({member.value: member.value})
