"""Mail templates and rendering them for a lead, inside the Jinja sandbox.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.mail.content_checks import (
    ContentCode,
    ContentWarning,
    check_step,
    check_steps,
)
from webapp.services.mail.html_text import html_to_text
from webapp.services.mail.limits import render_budget
from webapp.services.mail.rendering import (
    PREVIEW_UNSUBSCRIBE_URL,
    RenderedMail,
    RenderError,
    RenderProblem,
    StepDraft,
    StepSource,
    lead_context,
    preview_steps,
    render_preview,
    render_step,
    render_subject,
    required_variables_in,
    sample_context,
    spin_seed,
    spin_versions,
    step_for_variant,
    template_required_variables,
    template_variables,
    variables_in,
)
from webapp.services.mail.templates import (
    MAX_STEPS,
    PARTS,
    TemplateInvalid,
    check_template,
    create_template,
    get_template,
    lead_for_preview,
    list_templates,
    parse_steps,
    template_to_dict,
    update_template,
)
from webapp.services.mail.variants import (
    MAX_VARIANTS,
    MAX_WEIGHT,
    Variant,
    assign_variant,
    variants_of,
)

__all__ = [
    "MAX_STEPS",
    "MAX_VARIANTS",
    "MAX_WEIGHT",
    "PARTS",
    "PREVIEW_UNSUBSCRIBE_URL",
    "ContentCode",
    "ContentWarning",
    "RenderError",
    "RenderProblem",
    "RenderedMail",
    "StepDraft",
    "StepSource",
    "TemplateInvalid",
    "Variant",
    "assign_variant",
    "check_step",
    "check_steps",
    "check_template",
    "create_template",
    "get_template",
    "html_to_text",
    "lead_context",
    "lead_for_preview",
    "list_templates",
    "parse_steps",
    "preview_steps",
    "render_budget",
    "render_preview",
    "render_step",
    "render_subject",
    "required_variables_in",
    "sample_context",
    "spin_seed",
    "spin_versions",
    "step_for_variant",
    "template_required_variables",
    "template_to_dict",
    "template_variables",
    "update_template",
    "variables_in",
    "variants_of",
]
