"""Every model, imported in one place so the metadata is complete."""

from webapp.models.audit import AuditEvent
from webapp.models.campaigns import Campaign, CampaignAudience
from webapp.models.domains import SendingDomain
from webapp.models.imports import ImportJob, ImportUpload
from webapp.models.kpis import CampaignKpi, CampaignKpiDay
from webapp.models.leads import Lead, Suppression
from webapp.models.messages import Message, MessageEvent
from webapp.models.templates import Template, TemplateStep
from webapp.models.users import ApiToken, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Campaign",
    "CampaignAudience",
    "CampaignKpi",
    "CampaignKpiDay",
    "ImportJob",
    "ImportUpload",
    "Lead",
    "Message",
    "MessageEvent",
    "SendingDomain",
    "Suppression",
    "Template",
    "TemplateStep",
    "User",
]
