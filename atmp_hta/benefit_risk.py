"""The benefit–risk decision: net clinical value, its terms, its uncertainty and its tipping points.

Net clinical value (QALYs per patient)::

    NV = w_s · w_u · B  −  H  −  π

- B, the benefit: expected discounted QALYs of the treatment's outcome tree minus the comparator's;
- w_s, the severity weight (NICE 2022 modifier from the comparator's QALY shortfall);
- w_u, the unmet-need weight;
- H, the expected harm: Σ_h p_h · L_h with L_h the discounted QALY loss of harm h from its onset;
- π, the uncertainty penalty: how much the certainty-equivalent harm exceeds the harm counted in H,
  π = max(0, H_CE − H) with H_CE = −CE(−H_draws), CE the certainty equivalent over the harms' parameter
  uncertainty at the stated risk aversion. In a probabilistic evaluation H is the mean of the harm draws, so
  π = max(0, E[−H] − CE(−H)), the risk premium; in a base case H is the harm at the point values. A well
  characterised harm has a narrow distribution and adds little; a rare late harm seen in a few patients
  has a wide one and adds much. The floor at 0 acts for the quantile rule, whose lower quantile can lie
  above the mean of a skewed loss (an uncertainty penalty is never a bonus), and where the point-value harm
  exceeds the certainty equivalent. A risk-neutral rule (risk aversion 0, CARA or mean − k·sd) gives π = 0.

Approve if NV exceeds the decision threshold (0 by default). With draws, NV is computed per draw and
P(NV > 0) is reported; the decision uses the mean.

Since H + π = max(H, H_CE), the net value is w_s · w_u · B − max(H, H_CE): more harm never raises it for
the CARA and quantile rules, whose certainty equivalents never rise when every harm draw grows (first-order
stochastic dominance), in a base case as in a probabilistic evaluation (H and H_CE each grow). Mean − k·sd
does not have this property (see :func:`atmp_hta.risk.certainty_equivalent`); a result computed with it
carries a caveat saying so. When the evaluation has fewer draws than ``settings.penalty_draws``, H_CE comes
from a dedicated sample of that size drawn from the same seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize

import atmp_hta
from atmp_hta.discounting import _discounted_qalys
from atmp_hta.exceptions import ModelError, invalid
from atmp_hta.params import ParameterSet, parameter_range, point_values, sample, with_mean
from atmp_hta.risk import certainty_equivalent
from atmp_hta.severity import ContinuousSeverity, qaly_shortfall, severity_weight, unmet_need_weight
from atmp_hta.trees import evaluate_strategies

__all__ = [
    "BenefitRiskResult",
    "evaluate",
    "net_value_draws",
    "harm_parameters",
    "tipping_point",
    "tipping_points",
    "main_parameters",
    "net_value_curve",
    "TERMS",
    "MEAN_SD_CAVEAT",
]

#: The caveat a result computed with ``ce_method: mean-sd`` carries (in ``caveats`` and ``to_dict()``).
MEAN_SD_CAVEAT = (
    "ce_method 'mean-sd' is a mean-variance rule: it does not respect first-order stochastic dominance, so "
    "more (or more certain) harm can raise the net value; use 'cara' or 'quantile' where that matters"
)

#: The terms reported with every result, in order.
TERMS = (
    "benefit",
    "severity_weight",
    "unmet_need_weight",
    "weighted_benefit",
    "expected_harm",
    "uncertainty_penalty",
)


def _harm_losses(parameter_set: ParameterSet, values: dict, n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per harm: (probability, discounted QALY loss if it occurs), arrays over draws."""
    s = parameter_set.settings
    out = {}
    for i, harm in enumerate(parameter_set.harms):
        def get(expr):
            return np.broadcast_to(np.asarray(expr.evaluate(values), dtype=float), (n,))

        p, dec, dur, onset = (get(e) for e in (harm.probability, harm.utility_decrement, harm.duration_years,
                                                 harm.onset_years))
        for label, arr, low in (("probability", p, 0.0), ("duration_years", dur, 0.0), ("onset_years", onset, 0.0)):
            bad = (arr < low) | ~np.isfinite(arr) | ((arr > 1.0) if label == "probability" else False)
            if np.any(bad):
                j = int(np.argmax(bad))
                raise ModelError(f"harms[{i}] ({harm.name}).{label} is out of range: {arr[j]:.6g} at draw {j}")
        out[harm.name] = (p, _discounted_qalys(dec, dur, s.discount_rate, s.timing, onset))
    return out


def _components(parameter_set: ParameterSet, values: dict) -> dict:
    """Everything per draw except the penalty (which needs the whole distribution)."""
    n = len(next(iter(values.values()))) if values else 1
    strategies = evaluate_strategies(parameter_set, values)
    treatment, comparator = strategies["treatment"], strategies["comparator"]
    pop = parameter_set.population
    gp = np.broadcast_to(np.asarray(pop.general_population_qalys.evaluate(values), dtype=float), (n,))
    need = np.broadcast_to(np.asarray(pop.unmet_need.evaluate(values), dtype=float), (n,))
    harms = _harm_losses(parameter_set, values, n)
    harm_total = sum((p * loss for p, loss in harms.values()), np.zeros(n))
    return {
        "n": n,
        "strategies": strategies,
        "treatment_qalys": treatment.qalys,
        "comparator_qalys": comparator.qalys,
        "benefit": treatment.qalys - comparator.qalys,
        "general_population_qalys": gp,
        "unmet_need": need,
        "harms": harms,
        "expected_harm": harm_total,
    }


def _severity(parameter_set, comp, per_draw=False):
    s = parameter_set.settings
    scheme = ContinuousSeverity() if s.severity_scheme == "continuous" else s.severity_scheme
    gp, current = comp["general_population_qalys"], comp["comparator_qalys"]
    if s.severity_basis == "expected" and not per_draw:
        absolute, proportional = qaly_shortfall(gp.mean(), current.mean())
        weight = np.full(comp["n"], float(severity_weight(absolute, proportional, scheme)))
    else:
        absolute, proportional = qaly_shortfall(gp, current)
        weight = severity_weight(absolute, proportional, scheme)
    return np.mean(absolute), np.mean(proportional), weight


def _penalty(parameter_set: ParameterSet, harm_draws: np.ndarray, counted_harm=None) -> float:
    """π = max(0, H_CE − H) with H_CE = −CE(−H) over ``harm_draws`` and H the harm the net value counts.

    ``counted_harm`` defaults to the mean of ``harm_draws`` (a probabilistic evaluation: π is then the risk
    premium E[−H] − CE(−H)); a base case passes the harm at the point values. The floor keeps a penalty from
    becoming a bonus: a lower quantile of a skewed loss can lie above its mean (H ~ 2 · Beta(0.5, 30):
    median −0.015 > mean −0.033). Since H + π = max(H, H_CE), NV is monotone under draw-wise dominance for
    every certainty equivalent that is (CARA, quantile).
    """
    s = parameter_set.settings
    if s.risk_aversion == 0.0 and s.ce_method != "quantile":
        return 0.0
    losses = -harm_draws
    counted = float(harm_draws.mean()) if counted_harm is None else float(counted_harm)
    return max(0.0, -float(certainty_equivalent(losses, s.risk_aversion, s.ce_method)) - counted)


def harm_parameters(parameter_set: ParameterSet) -> frozenset:
    """Names of the parameters the harms depend on (the only ones the uncertainty penalty needs)."""
    names = set()
    for harm in parameter_set.harms:
        for expr in (harm.probability, harm.utility_decrement, harm.duration_years, harm.onset_years):
            names.update(n.split(".")[0] for n in expr.names)
    return frozenset(names)


def _harm_total(parameter_set: ParameterSet, values: dict, n: int) -> np.ndarray:
    harms = _harm_losses(parameter_set, values, n)
    return sum((p * loss for p, loss in harms.values()), np.zeros(n))


def _penalty_sample(parameter_set: ParameterSet, rng) -> np.ndarray:
    n = parameter_set.settings.penalty_draws
    return _harm_total(parameter_set, sample(parameter_set, n, rng, names=sorted(harm_parameters(parameter_set))), n)


def net_value_draws(parameter_set: ParameterSet, values: dict, penalty, per_draw_severity=False) -> np.ndarray:
    """Net clinical value per draw for given parameter draws and a given uncertainty penalty.

    ``per_draw_severity=True`` takes the severity weight draw by draw whatever ``severity_basis`` says
    (used when the "draws" are really different scenarios, as in a tipping-point grid).
    """
    comp = _components(parameter_set, values)
    _, _, w_s = _severity(parameter_set, comp, per_draw=per_draw_severity)
    s = parameter_set.settings
    w_u = unmet_need_weight(comp["unmet_need"], s.max_uplift, s.unmet_need_scheme)
    return w_s * w_u * comp["benefit"] - comp["expected_harm"] - penalty


@dataclass(frozen=True)
class BenefitRiskResult:
    """The decision for one parameter set, with every term, per-draw values and provenance.

    ``caveats`` holds short warnings about the method used (today: :data:`MEAN_SD_CAVEAT` when the
    uncertainty penalty is mean − k·sd with k > 0); empty otherwise.
    """

    parameter_set: ParameterSet = field(repr=False)
    n_draws: int
    seed: int | None
    net_value: float
    decision: str
    probability_net_value_positive: float | None
    terms: dict
    qalys: dict
    shortfall: dict
    harms: pd.DataFrame = field(repr=False)
    draw_arrays: dict = field(repr=False)
    provenance: dict = field(repr=False)
    caveats: tuple = ()

    @cached_property
    def draws(self) -> pd.DataFrame:
        """Per-draw values (one row per draw): QALYs of both strategies, benefit, weighted benefit, expected
        harm and net value. Built on first access, so a million-draw evaluation pays for it only if asked."""
        return pd.DataFrame({"draw": np.arange(self.n_draws), **self.draw_arrays})

    @property
    def margin(self) -> float:
        """Net value minus the decision threshold (positive: approve)."""
        return self.net_value - self.parameter_set.settings.decision_threshold

    def to_dict(self) -> dict:
        """JSON-ready summary (the CLI's ``--format json``)."""
        return {
            "product": self.parameter_set.product.name,
            "net_value": self.net_value,
            "decision": self.decision,
            "margin": self.margin,
            "probability_net_value_positive": self.probability_net_value_positive,
            "terms": dict(self.terms),
            "qalys": dict(self.qalys),
            "shortfall": dict(self.shortfall),
            "harms": self.harms.to_dict(orient="records"),
            "provenance": dict(self.provenance),
            "caveats": list(self.caveats),
        }

    def breakdown(self) -> pd.DataFrame:
        """Every term with its formula and the inputs that made it (for teaching and the 'explain' view)."""
        t, q, sf, s = self.terms, self.qalys, self.shortfall, self.parameter_set.settings
        disc = f"rate {s.discount_rate:g}, timing '{s.timing}'"
        rows = [
            ("treatment_qalys", q["treatment"], "E[QALY_T] = Σ P(path) · Σ discounted_qalys(u, years, r, start)",
             f"{self.parameter_set.strategies['treatment'].label}; {disc}"),
            ("comparator_qalys", q["comparator"], "E[QALY_C] = Σ P(path) · Σ discounted_qalys(u, years, r, start)",
             f"{self.parameter_set.strategies['comparator'].label}; {disc}"),
            ("benefit", t["benefit"], "B = E[QALY_T] − E[QALY_C]",
             f"B = {q['treatment']:.4f} − {q['comparator']:.4f}"),
            ("absolute_shortfall", sf["absolute"], "AS = Q_gp − E[QALY_C]",
             f"AS = {sf['general_population_qalys']:.4f} − {q['comparator']:.4f}"),
            ("proportional_shortfall", sf["proportional"], "PS = AS / Q_gp",
             f"PS = {sf['absolute']:.4f} / {sf['general_population_qalys']:.4f}"),
            ("severity_weight", t["severity_weight"],
             "w_s = 1.7 if PS ≥ 0.95 or AS ≥ 18; 1.2 if PS ≥ 0.85 or AS ≥ 12; else 1 (NICE PMG36 6.2)"
             if s.severity_scheme == "nice-2022" else f"w_s by scheme '{s.severity_scheme}'",
             f"AS = {sf['absolute']:.3f}, PS = {sf['proportional']:.3f}; basis '{s.severity_basis}'"),
            ("unmet_need_weight", t["unmet_need_weight"],
             {"none": "w_u = 1", "linear": "w_u = 1 + m · n", "convex": "w_u = 1 + m · n²"}[s.unmet_need_scheme],
             f"m = {s.max_uplift:g}, n = {self.shortfall['unmet_need']:.3f}"),
            ("weighted_benefit", t["weighted_benefit"], "w_s · w_u · B",
             f"{t['severity_weight']:.3f} · {t['unmet_need_weight']:.3f} · {t['benefit']:.4f}"),
        ]
        for _, h in self.harms.iterrows():
            rows.append(
                (f"harm: {h['harm']}", h["expected_loss"], "p_h · discounted_qalys(decrement, duration, r, onset)",
                 f"{h['probability']:.4g} · {h['loss_if_occurs']:.4f}")
            )
        rows += [
            ("expected_harm", t["expected_harm"], "H = Σ_h p_h · L_h", f"{len(self.harms)} harm(s)"),
            ("uncertainty_penalty", t["uncertainty_penalty"],
             "π = max(0, H_CE − H), H_CE = −CE(−H_draws); "
             + {"cara": "CE(X) = −(1/r) ln E[e^(−rX)]",
                "mean-sd": "CE(X) = E[X] − k · sd(X); mean–variance: more harm can lower π by more than it adds "
                           "to H",
                "quantile": "CE(X) = Q_α(X); never a bonus"}[s.ce_method],
             f"{s.ce_method}, risk aversion {s.risk_aversion:g}, over {self.provenance['penalty_draws']} draws"),
            ("net_value", self.net_value, "NV = w_s · w_u · B − H − π",
             f"{t['weighted_benefit']:.4f} − {t['expected_harm']:.4f} − {t['uncertainty_penalty']:.4f}"),
        ]
        return pd.DataFrame(rows, columns=["term", "value", "formula", "inputs"])


def evaluate(parameter_set: ParameterSet, n_draws: int = 1, rng=None) -> BenefitRiskResult:
    """Evaluate the benefit–risk decision.

    Parameters
    ----------
    parameter_set : ParameterSet
        From :func:`atmp_hta.params.load_parameters`.
    n_draws : int
        1 for the base case (every parameter at its point value); more for a probabilistic analysis.
    rng : int, numpy.random.Generator or None
        Seed or generator. The uncertainty penalty is computed from the probabilistic draws when there are
        at least ``settings.penalty_draws`` of them, otherwise from a dedicated sample of that size drawn
        first from ``rng``; so the same seed gives the same penalty in a base case.

    Returns
    -------
    BenefitRiskResult

    Notes
    -----
    NV = w_s · w_u · B − H − π with π = max(0, H_CE − H), H_CE = −CE(−H) over the harm draws, CE the
    certainty equivalent of ``settings.ce_method`` at ``settings.risk_aversion``
    (:func:`atmp_hta.risk.certainty_equivalent`), and H the mean harm of this evaluation's draws (the harm at
    the point values in a base case). With H the mean of the same draws, π = E[−H] − CE(−H), the risk
    premium. The floor at 0 keeps a penalty from becoming a bonus: the α-quantile of a right-skewed loss can
    lie above its mean (p_harm ~ Beta(0.5, 30), α = 0.5 would give π = −0.018). H + π = max(H, H_CE), so for
    CARA and the quantile more harm never raises NV. ``mean-sd`` (μ − kσ) does not respect stochastic
    dominance; its results carry :data:`MEAN_SD_CAVEAT` in ``caveats``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from atmp_hta.params import load_parameters
    >>> ps = load_parameters(Path(__file__).parents[1] / "parameters" / "axicabtagene_ciloleucel.yaml")
    >>> evaluate(ps, rng=1).decision
    'approve'
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
        raise invalid("n_draws", "a whole number >= 1", n_draws, "evaluate")
    seed = rng if isinstance(rng, int | np.integer) else None
    generator = np.random.default_rng(rng)
    s = parameter_set.settings
    penalty_seed, draws_seed = generator.integers(2**63, size=2)
    values = sample(parameter_set, n_draws, draws_seed)
    comp = _components(parameter_set, values)
    if n_draws >= s.penalty_draws:
        penalty_basis = comp["expected_harm"]
        penalty_draws = n_draws
    else:
        penalty_basis = _penalty_sample(parameter_set, penalty_seed)
        penalty_draws = s.penalty_draws
    penalty = _penalty(parameter_set, penalty_basis, counted_harm=comp["expected_harm"].mean())
    absolute, proportional, w_s = _severity(parameter_set, comp)
    w_u = unmet_need_weight(comp["unmet_need"], s.max_uplift, s.unmet_need_scheme)
    weighted = w_s * w_u * comp["benefit"]
    nv = weighted - comp["expected_harm"] - penalty
    net_value = float(nv.mean())
    decision = "approve" if net_value > s.decision_threshold else "reject"
    terms = {
        "benefit": float(comp["benefit"].mean()),
        "severity_weight": float(w_s[0]) if np.all(w_s == w_s[0]) else float(w_s.mean()),
        "unmet_need_weight": float(w_u[0]) if np.all(w_u == w_u[0]) else float(w_u.mean()),
        "weighted_benefit": float(weighted.mean()),
        "expected_harm": float(comp["expected_harm"].mean()),
        "uncertainty_penalty": penalty,
    }
    harms = pd.DataFrame(
        [
            {"harm": name, "probability": float(p.mean()), "loss_if_occurs": float(loss.mean()),
             "expected_loss": float((p * loss).mean())}
            for name, (p, loss) in comp["harms"].items()
        ],
        columns=["harm", "probability", "loss_if_occurs", "expected_loss"],
    )
    draw_arrays = {
        "treatment_qalys": comp["treatment_qalys"],
        "comparator_qalys": comp["comparator_qalys"],
        "benefit": comp["benefit"],
        "weighted_benefit": weighted,
        "expected_harm": comp["expected_harm"],
        "net_value": nv,
    }
    provenance = {
        "package": "atmp_hta",
        "version": atmp_hta.__version__,
        "parameter_file": parameter_set.path,
        "parameter_file_sha256": parameter_set.file_sha256,
        "parameter_content_sha256": parameter_set.sha256,
        "seed": int(seed) if seed is not None else None,
        "draws": int(n_draws),
        "penalty_draws": int(penalty_draws),
        "conventions": {
            "discount_rate": s.discount_rate,
            "timing": s.timing,
            "severity_scheme": s.severity_scheme,
            "severity_basis": s.severity_basis,
            "unmet_need_scheme": s.unmet_need_scheme,
            "max_uplift": s.max_uplift,
            "ce_method": s.ce_method,
            "risk_aversion": s.risk_aversion,
            "decision_threshold": s.decision_threshold,
            "point_values": "distribution means",
        },
    }
    return BenefitRiskResult(
        parameter_set=parameter_set,
        n_draws=int(n_draws),
        seed=provenance["seed"],
        net_value=net_value,
        decision=decision,
        probability_net_value_positive=float(np.mean(nv > 0)) if n_draws > 1 else None,
        terms=terms,
        qalys={"treatment": terms["benefit"] + float(comp["comparator_qalys"].mean()),
               "comparator": float(comp["comparator_qalys"].mean())},
        shortfall={"absolute": float(absolute), "proportional": float(proportional),
                   "general_population_qalys": float(comp["general_population_qalys"].mean()),
                   "unmet_need": float(comp["unmet_need"].mean())},
        harms=harms,
        draw_arrays=draw_arrays,
        provenance=provenance,
        caveats=(MEAN_SD_CAVEAT,) if s.ce_method == "mean-sd" and s.risk_aversion > 0 else (),
    )


def tipping_point(parameter_set: ParameterSet, name: str, low=None, high=None, rng=0, grid=21):
    """The value of parameter ``name`` at which the base-case decision flips, or None if it does not flip.

    The parameter is moved with :func:`atmp_hta.params.with_mean` (its point value set, its precision
    kept); everything else stays at its point value, and the uncertainty penalty is recomputed with common
    random numbers (seed ``rng``, the same penalty sample as :func:`evaluate` with that seed) so the search
    sees a smooth function. The search scans ``grid`` points over [low, high] (default: the parameter's
    allowed range; an unbounded range ends at ten times the current value) and refines the crossing nearest
    the current value with Brent's method.

    Examples
    --------
    >>> from pathlib import Path
    >>> from atmp_hta.params import load_parameters
    >>> ps = load_parameters(Path(__file__).parents[1] / "parameters" / "elivaldogene_autotemcel.yaml")
    >>> x = tipping_point(ps, "p_oncogenesis", rng=1)
    >>> 0 < x < 1
    True
    """
    return _tipping(parameter_set, name, low, high, rng, grid)["value"]


def _tipping(parameter_set, name, low, high, rng, grid):
    r_low, r_high = parameter_range(parameter_set, name)
    current = float(point_values(parameter_set)[name][0])
    lo = r_low if low is None else float(low)
    if high is None:
        hi = r_high if math.isfinite(r_high) else max(10.0 * abs(current), 1.0)
    else:
        hi = float(high)
    if not (lo < hi and r_low <= lo and hi <= r_high):
        raise invalid("low/high", f"low < high within [{r_low:g}, {r_high:g}]", (low, high), "tipping_point")
    threshold = parameter_set.settings.decision_threshold
    net_value_at = _mover(parameter_set, name, rng)

    def moved(xs):
        return net_value_at(xs) - threshold

    xs = np.linspace(lo, hi, grid)
    fs = moved(np.append(xs, current))
    base, fs = fs[-1], fs[:-1]
    changes = np.nonzero(np.sign(fs[:-1]) * np.sign(fs[1:]) < 0)[0]
    out = {"parameter": name, "current": current, "low": lo, "high": hi, "value": None,
           "approve_at_current": bool(base > 0), "approve_side": None}
    if changes.size == 0:
        return out
    nearest = changes[np.argmin(np.abs((xs[changes] + xs[changes + 1]) / 2 - current))]
    root = optimize.brentq(lambda x: float(moved([x])[0]), xs[nearest], xs[nearest + 1],
                           xtol=1e-10 * max(1.0, abs(hi)), rtol=1e-10)
    out["value"] = float(root)
    out["approve_side"] = "below" if fs[nearest] > 0 else "above"
    return out


def main_parameters(parameter_set: ParameterSet) -> list[str]:
    """The probabilities a decision usually turns on: the treatment's branch probabilities (first level)
    and the harms' probabilities, in that order, without repeats."""
    names = []
    for branch in parameter_set.strategies["treatment"].branches:
        if branch.probability != "complement":
            names.extend(sorted(branch.probability.names))
    for harm in parameter_set.harms:
        names.extend(sorted(harm.probability.names))
    known = parameter_set.names
    return [n for i, n in enumerate(names) if n in known and n not in names[:i]]


def net_value_curve(parameter_set: ParameterSet, name: str, low=None, high=None, points=41, rng=0):
    """Base-case net value as parameter ``name`` moves over [low, high] (for the tipping-point chart).

    Returns a tidy DataFrame with columns ``parameter, value, net_value, decision``; the parameter is moved
    as in :func:`tipping_point`.
    """
    r_low, r_high = parameter_range(parameter_set, name)
    current = float(point_values(parameter_set)[name][0])
    lo = r_low if low is None else float(low)
    hi = (r_high if math.isfinite(r_high) else max(10.0 * abs(current), 1.0)) if high is None else float(high)
    xs = np.linspace(lo, hi, int(points))
    nv = _mover(parameter_set, name, rng)(xs)
    threshold = parameter_set.settings.decision_threshold
    return pd.DataFrame({"parameter": name, "value": xs, "net_value": nv,
                         "decision": np.where(nv > threshold, "approve", "reject")})


def _mover(parameter_set, name, rng):
    """f(xs) -> base-case net value with ``name`` moved to each of ``xs`` (common random numbers)."""
    seed = rng if isinstance(rng, int | np.integer) else 0
    base_name = name.split(".")[0]
    harm_names = sorted(harm_parameters(parameter_set))
    n_pen = parameter_set.settings.penalty_draws
    penalty_seed = int(np.random.default_rng(seed).integers(2**63, size=2)[0])  # as in evaluate()
    shared = sample(parameter_set, n_pen, penalty_seed, names=harm_names)
    def point_harm(p):
        return float(_harm_total(p, point_values(p), 1)[0])

    fixed_penalty = None
    if base_name not in harm_names:
        fixed_penalty = _penalty(parameter_set, _harm_total(parameter_set, shared, n_pen), point_harm(parameter_set))

    def penalty_at(moved_set):
        column = sample(moved_set, n_pen, penalty_seed, names=[base_name])  # same stream as in `shared`
        return _penalty(moved_set, _harm_total(moved_set, {**shared, **column}, n_pen), point_harm(moved_set))

    def f(xs):
        sets = [with_mean(parameter_set, name, x) for x in xs]
        points = [point_values(p) for p in sets]
        values = {k: np.concatenate([pt[k] for pt in points]) for k in points[0]}
        penalty = fixed_penalty if fixed_penalty is not None else np.array([penalty_at(p) for p in sets])
        return net_value_draws(parameter_set, values, penalty, per_draw_severity=True)

    return f


def tipping_points(parameter_set: ParameterSet, names, rng=0, grid=21) -> pd.DataFrame:
    """Tipping points of several parameters as a tidy table.

    Columns: ``parameter, current, low, high, value`` (None if the decision does not flip within [low,
    high]), ``approve_at_current``, ``approve_side`` ("below": approval needs the parameter below ``value``).
    """
    rows = [_tipping(parameter_set, n, None, None, rng, grid) for n in names]
    return pd.DataFrame(rows, columns=["parameter", "current", "low", "high", "value", "approve_at_current",
                                       "approve_side"])
