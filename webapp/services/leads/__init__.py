"""Leads: imports, the lead list and its actions, suppressions, exports.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.leads.csv_sniff import (
    DELIMITER_NAMES,
    ENCODINGS,
    FileFormat,
)
from webapp.services.leads.editing import (
    LeadChanges,
    editable_vars,
    lead_heading,
    update_lead,
)
from webapp.services.leads.export import (
    lead_export,
    spreadsheet_safe_csv,
)
from webapp.services.leads.fields import (
    FREE_MAIL_DOMAINS,
    company_domain,
    is_free_mail,
)
from webapp.services.leads.idn import (
    unicode_email,
    unicode_host,
    unicode_url,
)
from webapp.services.leads.import_jobs import (
    create_import_job,
    discard_stale_import_jobs,
    job_format,
    local_file,
    remove_file,
    run_import_job,
    runs_in_background,
    settle_stalled_import_jobs,
    start_import_job,
    store_upload,
)
from webapp.services.leads.imports import (
    ImportFileError,
    ImportMappingError,
    import_file,
    inspect_file,
    parse_choices,
)
from webapp.services.leads.manage import (
    LeadActionError,
    LeadFilter,
    bulk_action,
    delete_list,
    get_lead,
    iter_leads,
    lead_history,
    lead_to_dict,
    list_counts,
    list_names,
    rename_list,
    search_leads,
    set_deleted,
    set_stopped,
)
from webapp.services.leads.mapping import (
    COMPANY,
    EMAIL,
    IGNORE,
    URL,
    VAR_PREFIX,
)
from webapp.services.leads.suppressions import (
    DomainImpact,
    SuppressionError,
    add_suppression,
    domain_suppression_impact,
    find_suppression,
    is_suppressed,
    remove_suppression,
    search_suppressions,
    suppress_lead,
    suppression_to_dict,
)

__all__ = [
    "COMPANY",
    "DELIMITER_NAMES",
    "EMAIL",
    "ENCODINGS",
    "FREE_MAIL_DOMAINS",
    "IGNORE",
    "URL",
    "VAR_PREFIX",
    "DomainImpact",
    "FileFormat",
    "ImportFileError",
    "ImportMappingError",
    "LeadActionError",
    "LeadChanges",
    "LeadFilter",
    "SuppressionError",
    "add_suppression",
    "bulk_action",
    "company_domain",
    "create_import_job",
    "delete_list",
    "discard_stale_import_jobs",
    "domain_suppression_impact",
    "editable_vars",
    "find_suppression",
    "get_lead",
    "import_file",
    "inspect_file",
    "is_free_mail",
    "is_suppressed",
    "iter_leads",
    "job_format",
    "lead_export",
    "lead_heading",
    "lead_history",
    "lead_to_dict",
    "list_counts",
    "list_names",
    "local_file",
    "parse_choices",
    "remove_file",
    "remove_suppression",
    "rename_list",
    "run_import_job",
    "runs_in_background",
    "search_leads",
    "search_suppressions",
    "set_deleted",
    "set_stopped",
    "settle_stalled_import_jobs",
    "spreadsheet_safe_csv",
    "start_import_job",
    "store_upload",
    "suppress_lead",
    "suppression_to_dict",
    "unicode_email",
    "unicode_host",
    "unicode_url",
    "update_lead",
]
