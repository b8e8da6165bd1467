"""What the shedding-planner workbook and dashboard call: parameter validation and one example study.

``notebooks/shedding_planner.ipynb`` passes its papermill parameters to :func:`shedding_inputs`, which
validates them (pydantic, unknown names refused: papermill only *warns* about those), loads the cited defaults
file and resolves every ``None`` to the file's value. The dashboard validates its widget values with
:func:`check_shedding_inputs` on defaults it has already loaded (no file I/O in a callback). Either way a bad
value raises :class:`~atmp_hta.exceptions.ParameterError` naming the parameter, its allowed range and the value.

:func:`example_study` draws the samples of one study under the planning assumptions (the model of
:func:`~atmp_hta.planners.shedding.design.simulate_design`, written out per sample) and analyses them as the
real study would be analysed: a Tobit decay fit and clearance by N consecutive negatives with Kaplan–Meier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atmp_hta.exceptions import ParameterError, invalid
from atmp_hta.planners.shedding.assay import Assay
from atmp_hta.planners.shedding.clearance import ClearanceKM, clearance_km, clearance_times
from atmp_hta.planners.shedding.defaults import DEFAULT_PATH, SheddingDefaults, load_shedding_defaults
from atmp_hta.planners.shedding.design import MatrixKinetics, StudyDesign
from atmp_hta.planners.shedding.kinetics import DecayFit, fit_decay

__all__ = [
    "DEFAULTS_DIR",
    "SheddingParameters",
    "SheddingInputs",
    "resolve_defaults_file",
    "shedding_inputs",
    "check_shedding_inputs",
    "ExampleStudy",
    "example_study",
    "PRECAUTIONS",
    "precaution_for",
    "Markdown",
]

#: Folder of the bundled planner defaults (a bare file name given as ``defaults_file`` is looked up here).
DEFAULTS_DIR = DEFAULT_PATH.parent
_WHERE = "the shedding workbook"


class SheddingParameters(BaseModel):
    """The parameters of ``notebooks/shedding_planner.ipynb`` (``None``: the defaults file's value).

    Each field's description is the allowed range quoted in error messages.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults_file: str = Field("shedding_aav.yaml", description="a readable YAML file of planner defaults")
    schedules: list[str] = Field(default_factory=list,
                                 description="a list of distinct schedule names of the defaults file (empty: all)")
    plan_schedule: str | None = Field(None, description="one of the compared schedules, or None (the first)")
    matrices: list[str] = Field(default_factory=list,
                                description="a list of distinct matrix names of the defaults file (empty: "
                                            "the file's design.matrices)")
    mitigation_matrix: str = Field("semen", description="a matrix of the defaults file")
    n_patients: int | None = Field(None, ge=1, le=1000,
                                   description="a whole number in [1, 1000], or None (the file's value)")
    consecutive: int | None = Field(None, ge=1, le=10,
                                    description="a whole number in [1, 10], or None (the file's value)")
    rule_start_day: float | None = Field(None, ge=0, le=365,
                                         description="a number of days in [0, 365], or None (the file's value)")
    p_missing: float | None = Field(None, ge=0, le=0.5,
                                    description="a fraction in [0, 0.5], or None (the file's value)")
    risk_percentile: float | None = Field(None, ge=0.5, le=0.999,
                                          description="a fraction in [0.5, 0.999], or None (the file's value)")
    margin_days: float | None = Field(None, ge=0, le=1000,
                                      description="a number of days in [0, 1000], or None (the file's value)")
    n_studies: int = Field(200, ge=1, le=100_000, description="a whole number in [1, 100000]")
    seed: int = Field(1, ge=0, description="a whole number >= 0")
    results_path: str | None = Field(None, description="a file path, or None (not recorded)")


@dataclass(frozen=True)
class SheddingInputs:
    """Validated and resolved workbook inputs: every value the planner's functions are called with."""

    defaults: SheddingDefaults = field(repr=False)
    defaults_path: str
    defaults_sha256: str | None
    schedules: dict[str, list[float]]
    plan_schedule: str
    matrices: list[str]
    mitigation_matrix: str
    n_patients: int
    consecutive: int
    missing: str
    stop_at_clearance: bool
    rule_start_day: float
    p_missing: float
    risk_percentile: float
    margin_days: float
    n_studies: int
    seed: int
    results_path: str | None

    @property
    def kinetics(self) -> dict[str, MatrixKinetics]:
        return self.defaults.kinetics()

    @property
    def assays(self) -> dict[str, Assay]:
        return self.defaults.assays()

    @property
    def costs(self) -> dict[str, float]:
        return self.defaults.costs()

    def design(self, schedule: str | None = None) -> StudyDesign:
        """The planned study on ``schedule`` (default: ``plan_schedule``)."""
        name = self.plan_schedule if schedule is None else schedule
        if name not in self.schedules:
            raise invalid("schedule", f"one of {list(self.schedules)}", name, "SheddingInputs.design")
        return StudyDesign(visits_days=self.schedules[name], n_patients=self.n_patients, matrices=self.matrices,
                           consecutive=self.consecutive, missing=self.missing,
                           stop_at_clearance=self.stop_at_clearance, p_missing=self.p_missing,
                           rule_start_day=self.rule_start_day, name=name)

    def comparison_arguments(self) -> dict:
        """Keyword arguments of :func:`~atmp_hta.planners.shedding.design.compare_schedules` (all but
        ``schedules`` and ``n_studies``/``rng``, which the caller passes)."""
        return dict(n_patients=self.n_patients, matrices=list(self.matrices), kinetics=self.kinetics,
                    assays=self.assays, consecutive=self.consecutive, missing=self.missing,
                    stop_at_clearance=self.stop_at_clearance, p_missing=self.p_missing,
                    rule_start_day=self.rule_start_day, cost_per_sample=self.costs)

    def to_record(self) -> dict:
        """The resolved inputs as plain values (for recorded results)."""
        return {
            "defaults_file": self.defaults_path, "defaults_sha256": self.defaults_sha256,
            "schedules": list(self.schedules), "plan_schedule": self.plan_schedule, "matrices": list(self.matrices),
            "mitigation_matrix": self.mitigation_matrix, "n_patients": self.n_patients,
            "consecutive": self.consecutive, "missing": self.missing, "stop_at_clearance": self.stop_at_clearance,
            "rule_start_day": self.rule_start_day, "p_missing": self.p_missing,
            "risk_percentile": self.risk_percentile, "margin_days": self.margin_days, "n_studies": self.n_studies,
            "seed": self.seed,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per input: ``input, value`` (for display)."""
        return pd.DataFrame({"input": list(self.to_record()),
                             "value": [str(v) for v in self.to_record().values()]})


def _error(name, value, reason=None) -> ParameterError:
    info = SheddingParameters.model_fields.get(name)
    allowed = info.description if info is not None else (
        f"one of the workbook's parameters {sorted(SheddingParameters.model_fields)}")
    why = f" ({reason})" if reason else ""
    return ParameterError(f"The '{name}' parameter of {_WHERE} must be {allowed}. Got {value!r}{why}.", field=name)


def resolve_defaults_file(name) -> Path:
    """An existing path as given, else a file of that name among the bundled planner defaults."""
    from atmp_hta.workbooks import resolve_file

    return resolve_file(name, DEFAULTS_DIR, field="defaults_file", pattern="shedding_*.yaml", where=_WHERE)


def _validated(parameters) -> SheddingParameters:
    for name, value in parameters.items():
        if isinstance(value, bool):  # pydantic would read True as the number 1
            raise _error(name, value, "a boolean is not accepted")
    try:
        return SheddingParameters.model_validate(parameters)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        name = str(err["loc"][0]) if err["loc"] else "(parameters)"
        raise _error(name, err.get("input"), err["msg"]) from None


def check_shedding_inputs(defaults: SheddingDefaults, *, defaults_path=None, defaults_sha256=None,
                          **parameters) -> SheddingInputs:
    """Validate workbook parameters against defaults already loaded (no file I/O).

    Parameters
    ----------
    defaults : SheddingDefaults
    defaults_path, defaults_sha256 : str, optional
        Recorded with the inputs (provenance).
    **parameters
        Any of :class:`SheddingParameters`' fields (``defaults_file`` is ignored here).

    Raises
    ------
    ParameterError
        Naming the parameter, its allowed range or values and the value received.

    Examples
    --------
    >>> d = load_shedding_defaults()
    >>> check_shedding_inputs(d, n_patients=12).design().n_patients
    12
    >>> check_shedding_inputs(d, schedules=["weekly"])
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: The 'schedules' parameter of the shedding workbook must name schedules of \
the defaults file: one of ['intensive', 'weekly_then_monthly', 'sparse']. Got ['weekly'].
    """
    p = _validated(parameters)
    design = defaults.design
    known = defaults.schedules()
    names = list(p.schedules) or list(known)
    _check_names("schedules", names, list(known), "name schedules of the defaults file")
    plan = names[0] if p.plan_schedule is None else p.plan_schedule
    if plan not in names:
        raise ParameterError(f"The 'plan_schedule' parameter of {_WHERE} must be one of the compared schedules "
                             f"{names}. Got {plan!r}.", field="plan_schedule")
    matrices = list(p.matrices) or list(design.matrices.value)
    _check_names("matrices", matrices, list(defaults.matrices), "name matrices of the defaults file")
    if p.mitigation_matrix not in defaults.matrices:
        raise ParameterError(f"The 'mitigation_matrix' parameter of {_WHERE} must be one of "
                             f"{list(defaults.matrices)}. Got {p.mitigation_matrix!r}.", field="mitigation_matrix")

    def pick(value, cited, kind):
        return kind(cited.value if value is None else value)

    return SheddingInputs(
        defaults=defaults, defaults_path=str(defaults_path) if defaults_path is not None else None,
        defaults_sha256=defaults_sha256, schedules={n: known[n] for n in names}, plan_schedule=plan,
        matrices=matrices, mitigation_matrix=p.mitigation_matrix,
        n_patients=pick(p.n_patients, design.n_patients, int),
        consecutive=pick(p.consecutive, design.consecutive, int), missing=str(design.missing.value),
        stop_at_clearance=bool(design.stop_at_clearance.value),
        rule_start_day=pick(p.rule_start_day, design.rule_start_day, float),
        p_missing=pick(p.p_missing, design.p_missing, float),
        risk_percentile=pick(p.risk_percentile, design.risk_percentile, float),
        margin_days=pick(p.margin_days, design.margin_days, float),
        n_studies=p.n_studies, seed=p.seed, results_path=p.results_path,
    )


def _check_names(name, given, known, what):
    unknown = [g for g in given if g not in known]
    if unknown or len(set(given)) != len(given):
        got = unknown if unknown else given
        extra = "" if unknown else " (listed twice)"
        raise ParameterError(f"The '{name}' parameter of {_WHERE} must {what}: one of {known}. Got {got}{extra}.",
                             field=name)


def shedding_inputs(**parameters) -> SheddingInputs:
    """Validate the workbook's parameters, load its defaults file and resolve every ``None``.

    Raises
    ------
    ParameterError
        Naming the parameter, its allowed range and the value received (also for a defaults file that is
        missing or fails validation).

    Examples
    --------
    >>> inputs = shedding_inputs(n_patients=20, seed=3)
    >>> inputs.n_patients, inputs.consecutive, inputs.plan_schedule
    (20, 3, 'intensive')
    >>> shedding_inputs(n_patients=0)
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: The 'n_patients' parameter of the shedding workbook must be a whole \
number in [1, 1000], or None (the file's value). Got 0 (Input should be greater than or equal to 1).
    """
    p = _validated(parameters)
    path = resolve_defaults_file(p.defaults_file)
    defaults = load_shedding_defaults(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return check_shedding_inputs(defaults, defaults_path=str(path), defaults_sha256=sha,
                                 **{k: v for k, v in parameters.items() if k != "defaults_file"})


#: The precaution that a clearance period protects, by matrix (wording of the AAV labels in the defaults file).
PRECAUTIONS = {
    "semen": "barrier contraception; no semen donation",
    "stool": "hand hygiene; safe disposal of faeces and nappies",
    "tears": "careful handling and disposal of dressings, tears and nasal secretions",
    "saliva": "avoid sharing utensils; hand hygiene",
    "urine": "hand hygiene; safe disposal of urine-soaked materials",
    "blood": "no blood, organ, tissue or cell donation",
}


def precaution_for(matrix: str) -> str:
    """The precaution a clearance period in ``matrix`` protects (a generic sentence for other matrices)."""
    return PRECAUTIONS.get(matrix, f"precautions against exposure to {matrix}")


class Markdown(str):
    """Text that a notebook displays as Markdown (``_repr_markdown_``), e.g. ``Markdown(plan.to_markdown())``."""

    def _repr_markdown_(self) -> str:
        return str(self)


# ------------------------------------------------------------------------------------------- example study


@dataclass(frozen=True)
class ExampleStudy:
    """One simulated study in one matrix, analysed (see :func:`example_study`).

    Attributes
    ----------
    samples : DataFrame
        One row per subject × scheduled visit: ``subject, day, log10_true, log10_sample, collected, detected,
        quantified, log10_value, censored, log10_loq, counted`` (``detected`` is NaN for a missing sample;
        ``counted`` is what the clearance rule sees: NaN also for negatives before ``rule_start_day``).
    fit : DecayFit or None
        Mono-exponential Tobit fit with between-subject intercept and slope to the collected samples from
        ``fit_from_day`` of subjects ever detected (without between-subject terms if that fails; None when
        nothing can be fitted, e.g. nothing quantified after the peaks: ``fit_error`` says why).
    clearance : DataFrame
        :func:`~atmp_hta.planners.shedding.clearance.clearance_times` of every subject with two or more counted
        samples.
    km : ClearanceKM
        Kaplan–Meier estimate of the time to clearance (the N-th negative: when clearance is confirmed).
    km_first_negative : ClearanceKM
        The same with the first of the N negatives as the event (when shedding was first seen to stop).
    """

    matrix: str
    samples: pd.DataFrame = field(repr=False)
    fit: DecayFit = field(repr=False)
    clearance: pd.DataFrame = field(repr=False)
    km: ClearanceKM = field(repr=False)
    km_first_negative: ClearanceKM = field(repr=False)
    fit_from_day: float
    log10_lod95: float
    excluded_subjects: tuple = ()
    fit_error: str | None = None

    def decay_curve(self, n: int = 200) -> pd.DataFrame:
        """The fitted mean curve (``DecayFit.curve_frame``) from ``fit_from_day`` until it is 1 log10 below the
        LOQ or the last visit, whichever comes first (so that a chart's axis stays on the data)."""
        if self.fit is None:
            raise invalid("fit", "a fitted decay (there is none)", self.fit_error, "ExampleStudy.decay_curve")
        end = float(self.samples["day"].max())
        below = self.fit.time_below(float(self.samples["log10_loq"].iloc[0]) - 1.0)
        end = min(end, max(float(below), self.fit_from_day + 1.0))
        return self.fit.curve_frame(np.linspace(self.fit_from_day, end, int(n)))


def example_study(design, kinetics, assay, matrix=None, rng=None) -> ExampleStudy:
    """Draw one study's samples in ``matrix`` under the planning assumptions, then analyse them.

    Parameters
    ----------
    design : StudyDesign
        Visits, patients, missing fraction, clearance rule (N, missing rule, ``rule_start_day``).
    kinetics : MatrixKinetics or mapping matrix -> MatrixKinetics
    assay : Assay or mapping matrix -> Assay
    matrix : str, optional
        Default: the first matrix of the design.
    rng : int, Generator or None

    Returns
    -------
    ExampleStudy

    Notes
    -----
    Per patient: peak P ~ N(P̄, sd_P), peak day τ ~ LogNormal(ln τ̄, sd_τ), decline d ~ LogNormal(ln d̄, sd_d),
    shedding with probability ``fraction_shedding``; at visit t the sample's log10 level is
    y = P − max(d (t − τ), r (τ − t)) + ε, ε ~ N(0, σ_w), and it is positive with probability
    1 − exp(−κ · 10^y) (the assay's Poisson detection); a sample is missing with probability ``p_missing``.
    This is the model of :func:`~atmp_hta.planners.shedding.design.simulate_design`, per sample. Every scheduled
    visit is sampled (no stopping at clearance) so that the whole decline can be seen. A positive sample at or
    above the LOQ is quantified; every other collected sample is left-censored at the LOQ.

    The decay fit (between-subject intercept and slope, so that ``fit.time_below(log10_lod95, percentile)``
    gives a percentile of subjects) uses samples from ``fit_from_day`` = max(rule_start_day, τ̄ · e^(2 sd_τ))
    (after nearly every patient's peak) of the subjects with a positive sample. The clearance rule sees
    positives at every visit and negatives from ``rule_start_day`` on, as in the design simulation.

    Examples
    --------
    >>> from atmp_hta.planners.shedding import load_shedding_defaults
    >>> d = load_shedding_defaults()
    >>> ex = example_study(d.study_design(), d.kinetics(), d.assays(), matrix="semen", rng=1)
    >>> bool(ex.fit.slope < 0), ex.fit.between_subject, ex.km.n_subjects
    (True, 'intercept+slope', 40)
    """
    where = "example_study"
    if not isinstance(design, StudyDesign):
        raise invalid("design", "a StudyDesign", type(design).__name__, where)
    m = design.matrices[0] if matrix is None else matrix
    if m not in design.matrices:
        raise invalid("matrix", f"one of the design's matrices {list(design.matrices)}", m, where)
    k = kinetics.get(m) if isinstance(kinetics, Mapping) else kinetics
    a = assay.get(m) if isinstance(assay, Mapping) else assay
    if not isinstance(k, MatrixKinetics):
        raise invalid("kinetics", f"a MatrixKinetics (or a mapping with one for {m!r})", type(k).__name__, where)
    if not isinstance(a, Assay):
        raise invalid("assay", f"an Assay (or a mapping with one for {m!r})", type(a).__name__, where)
    gen = np.random.default_rng(rng)
    n = int(design.n_patients)
    visits = design.visits_for(m)
    z = gen.standard_normal((3, n))
    peak = k.peak_log10 + k.peak_log10_sd * z[0]
    tau = k.peak_day * np.exp(k.peak_day_log_sd * z[1])
    decline = k.decay_log10_per_day * np.exp(k.decay_log_sd * z[2])
    sheds = gen.random(n) < k.fraction_shedding
    t = visits[None, :]
    true = peak[:, None] - np.maximum(decline[:, None] * (t - tau[:, None]), k.rise_log10_per_day * (tau[:, None] - t))
    sample = true + k.residual_sd * gen.standard_normal(true.shape)
    p_detect = -np.expm1(-a.sensitivity_scale * 10.0 ** np.minimum(sample, 300.0))
    detected = (gen.random(true.shape) < p_detect) & sheds[:, None]
    collected = gen.random(true.shape) >= design.p_missing
    log10_loq = float(np.log10(a.loq_copies_per_ml))
    quantified = detected & collected & (sample >= log10_loq)
    censored = collected & ~quantified
    counted = collected & (detected | (t >= design.rule_start_day))
    subjects = np.repeat(np.arange(1, n + 1), visits.size)
    samples = pd.DataFrame({
        "subject": subjects,
        "day": np.tile(visits, n),
        "log10_true": true.ravel(),
        "log10_sample": sample.ravel(),
        "collected": collected.ravel(),
        "detected": np.where(collected, detected, np.nan).ravel(),
        "quantified": quantified.ravel(),
        "log10_value": np.where(quantified, sample, np.nan).ravel(),
        "censored": censored.ravel(),
        "log10_loq": log10_loq,
        "counted": np.where(counted, detected, np.nan).ravel(),
    })
    fit_from = float(max(design.rule_start_day, k.peak_day * np.exp(2.0 * k.peak_day_log_sd)))
    ever = samples.groupby("subject")["detected"].transform(lambda s: bool((s == 1).any()))
    use = samples[samples["collected"] & (samples["day"] >= fit_from) & ever]
    fit, fit_error = None, None
    for between in ("intercept+slope", None):  # the pooled fit if the mixed model cannot be fitted
        try:
            fit = fit_decay(use["day"].to_numpy(), use["log10_value"].to_numpy(), loq=log10_loq,
                            censored=use["censored"].to_numpy(), subject=use["subject"].to_numpy(),
                            between_subject=between)
            break
        except ValueError as exc:  # e.g. nothing quantified after the peaks: say so instead of failing
            fit_error = str(exc)
    n_counted = samples.groupby("subject")["counted"].count()
    keep = n_counted.index[n_counted >= 2]
    rule = samples[samples["subject"].isin(keep)]
    clearance = clearance_times(rule["subject"], rule["day"], rule["counted"], consecutive=design.consecutive,
                                missing=design.missing)
    km = clearance_km(clearance)
    excluded = tuple(int(s) for s in n_counted.index[n_counted < 2])
    return ExampleStudy(matrix=m, samples=samples, fit=fit, clearance=clearance, km=km,
                        km_first_negative=clearance_km(clearance, time_column="first_negative_time"),
                        fit_from_day=fit_from,
                        log10_lod95=float(np.log10(a.lod95_copies_per_ml)), excluded_subjects=excluded,
                        fit_error=fit_error)
