"""What the surrogate-planner workbook and dashboard call: validated inputs and the composed trial plan.

:func:`surrogate_inputs` validates the parameters of ``notebooks/surrogate_planner.ipynb`` (the same names as
``parameters/planners/surrogate_haemophilia_b.yaml`` plus ``n_sim``, ``seed``, ``validation_model`` and
``results_path``); papermill only *warns* about unknown names, so anything unexpected is refused.
:func:`plan_trial` runs the planning kernels of this package on those inputs (primary FIX sample size and
power curves, the lead-in designs, the FIX → ABR bridge and the protocol synopsis);
:func:`simulation_check` sets the analytic lead-in power beside a simulation of frail patients. Nothing here
imports Jupyter: the dashboard (:mod:`atmp_hta.widgets.surrogate`) and the workbook share this one code path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.surrogate.bridge import BridgePrediction, calibrate_fix_abr, predict_abr
from atmp_hta.planners.surrogate.leadin import LeadinSampleSize, leadin_sample_size, simulate_leadin
from atmp_hta.planners.surrogate.power import (
    lognormal_from_arithmetic,
    power_curve_table,
    prob_above_threshold,
    ttest_sample_size,
)
from atmp_hta.planners.surrogate.synopsis import haemophilia_b_synopsis, synopsis_to_markdown

__all__ = [
    "DEFAULT_PARAMETER_FILE",
    "EXPRESSION_SCENARIOS",
    "SurrogateInputs",
    "surrogate_inputs",
    "SurrogatePlan",
    "plan_trial",
    "simulation_check",
    "MarkdownText",
]

#: The cited defaults of the workbook and the dashboard.
DEFAULT_PARAMETER_FILE = (
    Path(__file__).resolve().parents[3] / "parameters" / "planners" / "surrogate_haemophilia_b.yaml"
)

#: Power curves of the primary test are drawn for the expected geometric mean FIX and for these fractions of
#: it (expression lower than planned), as long as they stay above the null value.
EXPRESSION_SCENARIOS = (1.0, 0.75, 0.5)

_LISTS_MAX = 10


def _positive_list(value, min_length, distinct=False):
    if not (min_length <= len(value) <= _LISTS_MAX):
        raise ValueError(f"a list of {min_length} to {_LISTS_MAX} numbers")
    bad = [v for v in value if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError(f"a list of positive numbers (offending value {bad[0]!r})")
    if distinct and len(set(value)) < 2:
        raise ValueError("a list with at least two distinct values")
    return [float(v) for v in value]


class SurrogateInputs(BaseModel):
    """The parameters of ``notebooks/surrogate_planner.ipynb`` (units and sources: the YAML defaults file).

    Fields are declared in dependency order: a check that involves two parameters is made on the later one
    and names it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # FIX activity (primary surrogate endpoint), IU/dL
    fix_mean_iu_dl: float = Field(39.0, gt=0, le=300)
    fix_sd_iu_dl: float = Field(18.7, gt=0, le=300)
    fix_null_geometric_mean_iu_dl: float = Field(15.0, gt=0, le=300)
    fix_thresholds_iu_dl: list[float] = Field(default_factory=lambda: [5.0, 15.0, 40.0])
    # error rates
    alpha_one_sided: float = Field(0.025, gt=0, lt=0.5)
    target_power: float = Field(0.9, gt=0, lt=1)
    # bleeding (lead-in design)
    abr_leadin: float = Field(4.19, gt=0, le=100)
    rate_ratio_expected: float = Field(0.5, gt=0, lt=1)
    abr_dispersion: float = Field(1.0, ge=0, le=10)
    leadin_years: float = Field(0.5, gt=0, le=5)
    post_years: float = Field(1.0, gt=0, le=5)
    noninferiority_margin: float = Field(1.8, gt=1, le=10)
    dropout: float = Field(0.1, ge=0, le=0.9)
    # FIX -> ABR bridge, PRO and safety
    fix_abr_calibration_fix: list[float] = Field(default_factory=lambda: [3.16, 30.0])
    fix_abr_calibration_abr: list[float] = Field(default_factory=lambda: [0.6, 0.1])
    pro_effect_size: float = Field(0.5, gt=0, le=5)
    safety_event_rate: float = Field(0.1, gt=0, lt=1)
    # workbook settings
    n_sim: int = Field(2_000, ge=100, le=1_000_000)
    seed: int = Field(1, ge=0)
    validation_model: Literal["full", "reduced"] = "full"
    results_path: str | None = None

    @field_validator("fix_null_geometric_mean_iu_dl")
    @classmethod
    def _null_below_expected(cls, value, info: ValidationInfo):
        mean, sd = info.data.get("fix_mean_iu_dl"), info.data.get("fix_sd_iu_dl")
        if mean is not None and sd is not None:
            mu, _ = lognormal_from_arithmetic(mean, sd)
            gm = float(np.exp(mu))
            if value >= gm:
                raise ValueError(
                    f"below the expected geometric mean FIX activity ({gm:.4g} IU/dL, from mean {mean:g} and "
                    f"SD {sd:g}): the primary test is one-sided, H1: GM > null"
                )
        return value

    @field_validator("fix_thresholds_iu_dl")
    @classmethod
    def _thresholds(cls, value):
        return _positive_list(value, 1)

    @field_validator("target_power")
    @classmethod
    def _power_above_alpha(cls, value, info: ValidationInfo):
        alpha = info.data.get("alpha_one_sided")
        if alpha is not None and value <= alpha:
            raise ValueError(f"in (alpha_one_sided = {alpha:g}, 1)")
        return value

    @field_validator("fix_abr_calibration_fix")
    @classmethod
    def _calibration_fix(cls, value):
        return _positive_list(value, 2, distinct=True)

    @field_validator("fix_abr_calibration_abr")
    @classmethod
    def _calibration_abr(cls, value, info: ValidationInfo):
        value = _positive_list(value, 2)
        fix = info.data.get("fix_abr_calibration_fix")
        if fix is not None and len(fix) != len(value):
            raise ValueError(f"a list as long as fix_abr_calibration_fix ({len(fix)} values)")
        return value

    def planner_parameters(self) -> dict:
        """The planning values under the names of the YAML file (what ``haemophilia_b_synopsis`` takes)."""
        return self.model_dump(exclude={"n_sim", "seed", "validation_model", "results_path"})


def _allowed(err) -> str:
    """The allowed range of a pydantic error, in the words of ``atmp_hta.exceptions.invalid``."""
    msg = err["msg"]
    for prefix in ("Value error, ", "Input should be "):
        msg = msg.removeprefix(prefix)
    if err["type"] == "extra_forbidden":
        return f"one of the workbook's parameters ({', '.join(SurrogateInputs.model_fields)}); it is unknown"
    if err["type"] == "missing":
        return "given"
    return msg


def surrogate_inputs(**parameters) -> SurrogateInputs:
    """Validate the surrogate workbook's parameters (every one by keyword; defaults for those not given).

    Raises
    ------
    ParameterError
        naming the parameter, its allowed range and the value received, e.g. ``The 'alpha_one_sided'
        parameter must be less than 0.5. Got 0.7.``

    Examples
    --------
    >>> surrogate_inputs(rate_ratio_expected=0.4).rate_ratio_expected
    0.4
    >>> surrogate_inputs(alpha_one_sided=0.7)
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: The 'alpha_one_sided' parameter must be less than 0.5. Got 0.7.
    """
    try:
        return SurrogateInputs.model_validate(parameters)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "parameters"
        got = err.get("input")
        raise ParameterError(f"The '{field}' parameter must be {_allowed(err)}. Got {got!r}.", field=field) from None


class MarkdownText(str):
    """A string that Jupyter displays as Markdown (``_repr_markdown_``), without importing IPython."""

    def _repr_markdown_(self):
        return str(self)


@dataclass(frozen=True)
class SurrogatePlan:
    """Everything :func:`plan_trial` computed for one set of inputs."""

    inputs: SurrogateInputs
    fix_log_mean: float
    fix_log_sd: float
    fix_geometric_mean: float
    effect_size: float
    n_primary: float
    n_primary_rounded: int
    fix_above_thresholds: pd.DataFrame
    power_curve: pd.DataFrame
    noninferiority: LeadinSampleSize
    superiority: LeadinSampleSize
    bridge_intercept: float
    bridge_slope: float
    bridge: BridgePrediction
    synopsis: pd.DataFrame

    @property
    def n_planned(self) -> int:
        """Patients to dose: the synopsis' planned size (largest requirement, inflated for drop-out)."""
        return int(self.synopsis["n_planned"].max())

    def synopsis_markdown(self) -> MarkdownText:
        """The synopsis as a Markdown table (displayed as a table in a notebook)."""
        return MarkdownText(synopsis_to_markdown(self.synopsis))

    def leadin_table(self) -> pd.DataFrame:
        """The two lead-in designs side by side: one row each for non-inferiority and superiority.

        ``n_patients_exact`` (with ``power_exact``) is each design's size, the one the synopsis requires;
        ``events_required`` and ``n_patients_normal`` are the normal approximation, for orientation only
        (anti-conservative: it ignores the negative-binomial spread of bleed counts).
        """
        rows = []
        for name, d in (("non-inferiority", self.noninferiority), ("superiority", self.superiority)):
            rows.append(
                {
                    "design": name,
                    "margin": d.margin,
                    "p_null": d.p_null,
                    "p_alternative": d.p_alternative,
                    "events_required": d.events_required,
                    "n_patients_normal": d.n_patients_normal,
                    "n_patients_exact": d.n_patients_exact,
                    "power_exact": d.power_exact,
                }
            )
        return pd.DataFrame(rows)


def _curve_n(n_primary: float) -> np.ndarray:
    n_max = max(12, math.ceil(2.5 * n_primary))
    return np.unique(np.round(np.linspace(2, n_max, min(n_max - 1, 60)))).astype(float)


def plan_trial(inputs: SurrogateInputs) -> SurrogatePlan:
    """Run the planning kernels on validated inputs.

    Primary: one-sample, one-sided t-test of ln FIX against ln of the null geometric mean, effect size
    d = (μ − ln GM₀)/σ with (μ, σ) from the arithmetic mean and SD (:func:`lognormal_from_arithmetic`), n from
    :func:`ttest_sample_size`; power curves (:func:`power_curve_table`) at the expected geometric mean and at
    the :data:`EXPRESSION_SCENARIOS` fractions of it (effect sizes rounded to 2 decimals in the table, for
    the legend). Lead-in: :func:`leadin_sample_size` for non-inferiority (the margin) and superiority (1).
    Bridge: :func:`calibrate_fix_abr` then :func:`predict_abr` over the post-treatment period. Synopsis:
    :func:`haemophilia_b_synopsis`.
    """
    p = inputs
    mu, sigma = (float(v) for v in lognormal_from_arithmetic(p.fix_mean_iu_dl, p.fix_sd_iu_dl))
    gm = math.exp(mu)
    alpha, power = p.alpha_one_sided, p.target_power
    d = (mu - math.log(p.fix_null_geometric_mean_iu_dl)) / sigma
    n_primary = float(ttest_sample_size(d, alpha=alpha, power=power, design="one-sample", alternative="greater"))
    thresholds = np.asarray(p.fix_thresholds_iu_dl, dtype=float)
    share = np.atleast_1d(prob_above_threshold(thresholds, gm, sigma))
    above = pd.DataFrame({"threshold_iu_dl": thresholds, "probability": share})
    null = math.log(p.fix_null_geometric_mean_iu_dl)
    scenario_d = [(mu + math.log(f) - null) / sigma for f in EXPRESSION_SCENARIOS]
    curve = power_curve_table(
        [x for x in scenario_d if x > 0], _curve_n(n_primary), alpha=alpha, design="one-sample",
        alternative="greater",
    )
    curve["effect_size"] = curve["effect_size"].round(2)
    leadin_kw = dict(
        rate_leadin=p.abr_leadin,
        rate_ratio=p.rate_ratio_expected,
        dispersion=p.abr_dispersion,
        leadin_years=p.leadin_years,
        post_years=p.post_years,
        alpha=alpha,
        power=power,
    )
    ni = leadin_sample_size(margin=p.noninferiority_margin, **leadin_kw)
    sup = leadin_sample_size(margin=1.0, **leadin_kw)
    intercept, slope = calibrate_fix_abr(p.fix_abr_calibration_fix, p.fix_abr_calibration_abr)
    bridge = predict_abr(gm, sigma, p.post_years, p.abr_dispersion, intercept, slope)
    return SurrogatePlan(
        inputs=inputs,
        fix_log_mean=mu,
        fix_log_sd=sigma,
        fix_geometric_mean=gm,
        effect_size=d,
        n_primary=n_primary,
        n_primary_rounded=math.ceil(n_primary - 1e-9),
        fix_above_thresholds=above,
        power_curve=curve,
        noninferiority=ni,
        superiority=sup,
        bridge_intercept=intercept,
        bridge_slope=slope,
        bridge=bridge,
        synopsis=haemophilia_b_synopsis(inputs.planner_parameters()),
    )


def simulation_check(plan: SurrogatePlan, n_sim: int, rng=None, designs=("noninferiority", "superiority")):
    """Analytic lead-in power beside a simulation of negative-binomial patients with gamma frailty.

    Each design is simulated at its exact sample size with :func:`simulate_leadin` (``n_sim`` trials, the same
    ``rng`` seed for each design). ``z`` is (simulated − analytic) / √(p(1 − p)/n_sim) with p the analytic
    power; ``agrees`` is |z| < 4 (within 4 Monte Carlo standard errors, the tolerance of the package's own
    tests: a correct design is flagged in about 1 check in 16,000).

    Returns
    -------
    pandas.DataFrame
        Columns ``design, margin, n_patients, power_analytic, power_simulated, mc_se, z, agrees``.
    """
    rows = []
    for name in designs:
        design: LeadinSampleSize = getattr(plan, name)
        sim = simulate_leadin(
            design.n_patients_exact,
            design.rate_leadin,
            design.rate_ratio,
            design.dispersion,
            design.leadin_years,
            design.post_years,
            alpha=design.alpha,
            margin=design.margin,
            n_sim=n_sim,
            rng=rng,
        )
        se = math.sqrt(design.power_exact * (1.0 - design.power_exact) / n_sim)
        if se > 0:
            z = (sim.power - design.power_exact) / se
        else:  # analytic power 0 or 1: the simulation must agree exactly
            z = 0.0 if sim.power == design.power_exact else math.inf
        rows.append(
            {
                "design": "non-inferiority" if name == "noninferiority" else "superiority",
                "margin": design.margin,
                "n_patients": design.n_patients_exact,
                "power_analytic": design.power_exact,
                "power_simulated": sim.power,
                "mc_se": se,
                "z": z,
                "agrees": bool(abs(z) < 4),
            }
        )
    return pd.DataFrame(rows)
