"""Surrogate-endpoint planner for Phase II trials of gene and cell therapies (issue 7).

Size a trial on a pharmacodynamic surrogate (FIX activity after an AAV vector), size its clinical
confirmation (ABR; a within-patient lead-in design), bridge the surrogate to the clinical endpoint, validate a
surrogate on multi-trial data, and write the protocol synopsis. Modules: :mod:`.power` (t-tests, log-normal
biomarkers), :mod:`.counts` (Poisson / negative-binomial rates), :mod:`.leadin`, :mod:`.bridge`,
:mod:`.validation`, :mod:`.synopsis`. Charts of their result tables are in
:mod:`atmp_hta.planners.surrogate_charts`.
"""

from atmp_hta.planners.surrogate.bridge import (
    BridgePrediction,
    abr_mean_from_fix,
    calibrate_fix_abr,
    predict_abr,
    prob_abr_at_most,
)
from atmp_hta.planners.surrogate.counts import (
    PoissonRateTest,
    negbin_power,
    negbin_sample_size,
    negbin_sample_size_table,
    negbin_variances,
    poisson_rate_test,
    poisson_sample_size,
)
from atmp_hta.planners.surrogate.leadin import (
    LeadinSampleSize,
    LeadinSimulation,
    leadin_power,
    leadin_power_table,
    leadin_sample_size,
    simulate_leadin,
)
from atmp_hta.planners.surrogate.power import (
    arithmetic_from_lognormal,
    cv_from_log_sd,
    gmr_sample_size,
    log_sd_from_cv,
    lognormal_from_arithmetic,
    power_curve_table,
    prob_above_threshold,
    sample_size_table,
    ttest_power,
    ttest_sample_size,
)
from atmp_hta.planners.surrogate.synopsis import (
    EndpointPlan,
    haemophilia_b_synopsis,
    protocol_synopsis,
    read_planner_parameters,
    synopsis_to_csv,
    synopsis_to_markdown,
)
from atmp_hta.planners.surrogate.validation import (
    Estimate,
    PrenticeResult,
    SurrogateValidation,
    load_armd,
    validate_surrogate,
)

__all__ = [
    "BridgePrediction",
    "EndpointPlan",
    "Estimate",
    "LeadinSampleSize",
    "LeadinSimulation",
    "PoissonRateTest",
    "PrenticeResult",
    "SurrogateValidation",
    "abr_mean_from_fix",
    "arithmetic_from_lognormal",
    "calibrate_fix_abr",
    "cv_from_log_sd",
    "gmr_sample_size",
    "haemophilia_b_synopsis",
    "leadin_power",
    "leadin_power_table",
    "leadin_sample_size",
    "load_armd",
    "log_sd_from_cv",
    "lognormal_from_arithmetic",
    "negbin_power",
    "negbin_sample_size",
    "negbin_sample_size_table",
    "negbin_variances",
    "poisson_rate_test",
    "poisson_sample_size",
    "power_curve_table",
    "predict_abr",
    "prob_abr_at_most",
    "prob_above_threshold",
    "protocol_synopsis",
    "read_planner_parameters",
    "sample_size_table",
    "simulate_leadin",
    "synopsis_to_csv",
    "synopsis_to_markdown",
    "ttest_power",
    "ttest_sample_size",
    "validate_surrogate",
]
