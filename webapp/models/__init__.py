"""Every model, imported in one place so the metadata is complete."""

from webapp.models.audit import AuditEvent
from webapp.models.bookings import DomainBookingDay
from webapp.models.campaigns import (
    ActionStatus,
    Campaign,
    CampaignAction,
    CampaignAudience,
    CampaignStatus,
    PendingAction,
)
from webapp.models.domains import SendingDomain, SmtpTls
from webapp.models.dry_runs import StoredDryRun
from webapp.models.imports import ImportJob, ImportStatus, ImportUpload
from webapp.models.invitations import Invitation
from webapp.models.kpis import CampaignKpi, CampaignKpiDay
from webapp.models.leads import Lead, LeadStatus, Suppression, SuppressionReason
from webapp.models.messages import (
    VARIANT_KEYS,
    CancelReason,
    EventType,
    Message,
    MessageEvent,
    MessageStatus,
)
from webapp.models.templates import Template, TemplateStep
from webapp.models.users import ApiToken, RecoveryCode, Role, User

__all__ = [
    "VARIANT_KEYS",
    "ActionStatus",
    "ApiToken",
    "AuditEvent",
    "Campaign",
    "CampaignAction",
    "CampaignAudience",
    "CampaignKpi",
    "CampaignKpiDay",
    "CampaignStatus",
    "CancelReason",
    "DomainBookingDay",
    "EventType",
    "ImportJob",
    "ImportStatus",
    "ImportUpload",
    "Invitation",
    "Lead",
    "LeadStatus",
    "Message",
    "MessageEvent",
    "MessageStatus",
    "PendingAction",
    "RecoveryCode",
    "Role",
    "SendingDomain",
    "SmtpTls",
    "StoredDryRun",
    "Suppression",
    "SuppressionReason",
    "Template",
    "TemplateStep",
    "User",
]
