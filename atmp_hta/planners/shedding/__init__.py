"""Shedding-study planner for viral-vector gene therapies.

Modules, one concept each:

- :mod:`.assay` — qPCR detection as a Poisson process, LOD95, copies/reaction ↔ copies/mL.
- :mod:`.kinetics` — Tobit (left-censored at the LOQ) mono-/bi-exponential decay fits on the log10 scale,
  optional between-subject variability, half-lives and times to fall below a threshold.
- :mod:`.clearance` — clearance by N consecutive negatives per subject; Kaplan–Meier across subjects.
- :mod:`.design` — vectorised simulation of many planned studies; schedule comparison.
- :mod:`.mitigation` — precaution (barrier-contraception) period from an upper percentile of clearance.
- :mod:`.plan` — the study-plan table (matrix × visit, assay, stopping rule) as CSV and Markdown.
- :mod:`.defaults` — cited defaults from ``parameters/planners/shedding_aav.yaml``.

Times are in days throughout this planner (the data's own unit for the fitting functions).
Charts live in :mod:`atmp_hta.planners.shedding_charts` and only consume the tables made here.

Examples
--------
>>> from atmp_hta.planners.shedding import detection_probability, limit_of_detection
>>> round(limit_of_detection(), 3), round(detection_probability(limit_of_detection()), 3)
(2.996, 0.95)
"""

from atmp_hta.planners.shedding.assay import (
    Assay,
    copies_per_ml_from_reaction,
    copies_per_reaction_from_ml,
    detection_probability,
    limit_of_detection,
    sample_ml_per_reaction,
)
from atmp_hta.planners.shedding.clearance import (
    MISSING_RULES,
    ClearanceKM,
    clearance_kernel,
    clearance_km,
    clearance_times,
)
from atmp_hta.planners.shedding.defaults import SheddingDefaults, load_shedding_defaults
from atmp_hta.planners.shedding.design import (
    DesignSimulation,
    MatrixKinetics,
    StudyDesign,
    compare_schedules,
    simulate_design,
    true_clearance_days,
)
from atmp_hta.planners.shedding.kinetics import (
    DecayFit,
    biexponential_crossing_time,
    fit_decay,
    monoexponential_crossing_time,
    tobit_log_likelihood,
)
from atmp_hta.planners.shedding.mitigation import (
    PrecautionRecommendation,
    kinetics_clearance_quantile,
    mitigation_table,
    recommend_precaution_period,
)
from atmp_hta.planners.shedding.plan import StudyPlan, stopping_rule_text, study_plan, to_markdown

__all__ = [
    # assay
    "Assay", "detection_probability", "limit_of_detection", "sample_ml_per_reaction",
    "copies_per_reaction_from_ml", "copies_per_ml_from_reaction",
    # kinetics
    "DecayFit", "fit_decay", "tobit_log_likelihood", "monoexponential_crossing_time",
    "biexponential_crossing_time",
    # clearance
    "clearance_times", "clearance_kernel", "clearance_km", "ClearanceKM", "MISSING_RULES",
    # design
    "MatrixKinetics", "StudyDesign", "DesignSimulation", "simulate_design", "compare_schedules",
    "true_clearance_days",
    # mitigation
    "PrecautionRecommendation", "recommend_precaution_period", "kinetics_clearance_quantile", "mitigation_table",
    # plan
    "StudyPlan", "study_plan", "stopping_rule_text", "to_markdown",
    # defaults
    "SheddingDefaults", "load_shedding_defaults",
]
