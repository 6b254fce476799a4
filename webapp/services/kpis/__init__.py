"""KPIs: campaign figures and timelines, the overview, server-drawn charts.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.kpis.charts import (
    meter_bars,
    timeline_chart,
)
from webapp.services.kpis.experiment_stats import WINNER_PROBABILITY
from webapp.services.kpis.experiments import (
    VARIANT_FIGURES,
    campaign_experiments,
    experiment_chart,
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
    "VARIANT_FIGURES",
    "WINNER_PROBABILITY",
    "campaign_calendar",
    "campaign_experiments",
    "campaign_kpis",
    "campaign_overview",
    "campaign_timeline",
    "experiment_chart",
    "figures",
    "kpi_table",
    "meter_bars",
    "overview_counts",
    "recent_events",
    "timeline_chart",
    "todays_sends",
]
