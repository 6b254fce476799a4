"""The team: invitations, forgotten passwords, and the mails and links they need.

What other areas and the web layer may use; the modules inside are the area's own.
Users themselves (roles, logins, tokens) live in services/users.py, shared by every area.
"""

from __future__ import annotations

from webapp.services.team.invitations import (
    INVITATION_DAYS,
    InvitationLink,
    LinkClosed,
    LinkState,
    MailNotSent,
    accept_invitation,
    cancel_invitation,
    get_invitation,
    invitation_to_dict,
    invite,
    list_open_invitations,
    open_invitation_for,
    read_invitation_link,
    resend_invitation,
)
from webapp.services.team.links import invitation_url, reset_url
from webapp.services.team.mails import role_name
from webapp.services.team.resets import (
    RESET_MINUTES,
    ResetClosed,
    ResetLink,
    ResetState,
    read_reset_link,
    request_password_reset,
    reset_password,
    send_password_reset,
)

__all__ = [
    "INVITATION_DAYS",
    "RESET_MINUTES",
    "InvitationLink",
    "LinkClosed",
    "LinkState",
    "MailNotSent",
    "ResetClosed",
    "ResetLink",
    "ResetState",
    "accept_invitation",
    "cancel_invitation",
    "get_invitation",
    "invitation_to_dict",
    "invitation_url",
    "invite",
    "list_open_invitations",
    "open_invitation_for",
    "read_invitation_link",
    "read_reset_link",
    "request_password_reset",
    "resend_invitation",
    "reset_password",
    "reset_url",
    "role_name",
    "send_password_reset",
]
