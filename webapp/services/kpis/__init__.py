"""KPIs: campaign figures and timelines, the overview, server-drawn charts.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.kpis.charts import (
    meter_bars,
    timeline_chart,
)
from webapp.services.kpis.overview import (
    campaign_calendar,
    campaign_overview,
    overview_counts,
    recent_events,
    todays_sends,
)
from webapp.services.kpis.summaries import (
    FIGURES,
    RATES,
    campaign_kpis,
    campaign_timeline,
    figures,
    kpi_table,
)

__all__ = [
    "FIGURES",
    "RATES",
    "campaign_calendar",
    "campaign_kpis",
    "campaign_overview",
    "campaign_timeline",
    "figures",
    "kpi_table",
    "meter_bars",
    "overview_counts",
    "recent_events",
    "timeline_chart",
    "todays_sends",
]
