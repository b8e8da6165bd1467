"""Decision layer shared by the benefit-risk and cost-effectiveness analyses.

Takes per-draw values of each option (draws on axis 0, options on axis 1), or costs and effects per
strategy, and returns decision quantities; it knows nothing of the model that produced them. The functions
live in small modules and are re-exported here:

- :mod:`atmp_hta.cea`: ICER table (dominance and extended dominance), net monetary and net health benefit,
  acceptability curves and frontier, EVPI over a willingness-to-pay grid;
- :mod:`atmp_hta.voi`: EVPI, probability best, EVPPI by non-parametric regression, population EVPI;
- :mod:`atmp_hta.pricing`: severity-adjusted thresholds and value-based prices (also outcome-based schemes);
- :mod:`atmp_hta.sensitivity`: one-way (tornado), two-way and threshold analyses.
"""

from __future__ import annotations

from atmp_hta.cea import (
    acceptability_frontier,
    ceac,
    evpi_by_wtp,
    icer_table,
    net_health_benefit,
    net_monetary_benefit,
    pivot_draws,
)
from atmp_hta.pricing import outcome_based_price, severity_adjusted_threshold, value_based_price
from atmp_hta.voi import EvppiResult, PopulationValue, evpi, evppi, evppi_table, population_evpi, probability_best

__all__ = [
    "evpi",
    "probability_best",
    "evppi",
    "evppi_table",
    "EvppiResult",
    "population_evpi",
    "PopulationValue",
    "icer_table",
    "net_monetary_benefit",
    "net_health_benefit",
    "ceac",
    "acceptability_frontier",
    "evpi_by_wtp",
    "pivot_draws",
    "severity_adjusted_threshold",
    "value_based_price",
    "outcome_based_price",
]
