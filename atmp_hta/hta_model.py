"""Cost-effectiveness model files: mixture-cure partitioned-survival strategies, evaluated over draws.

A model file (``parameters/hta/*.yaml``) names its policy pack, cites its sources, declares its parameters
with the distributions of :mod:`atmp_hta.params` (the same :class:`atmp_hta.params.Parameter` specification,
drawn by :func:`atmp_hta.params.sample`) and defines each strategy as a three-state partitioned-survival
model (progression-free, progressed, dead) whose PFS and OS are mixture-cure curves::

    schema_version: 1
    name: axi-cel vs salvage chemotherapy
    policy: nice                     # policy pack: discount rates (costs, effects) and thresholds
    discounting: reference_case      # or the name of one of the pack's alternatives
    intervention: axi-cel            # the strategy whose `price` a value-based price replaces
    comparator: salvage              # the reference strategy
    settings: {horizon_years: 40, cycle_length: 1.0, start_age: 58, male_share: 0.68,
               method: half-cycle, timing: continuous}
    sources: {zuma1: "..."}
    parameters: {u_pf: {kind: utility, beta: {mean: 0.8, sd: 0.03}, source: zuma1}, ...}
    strategies:
      axi-cel:
        label: Axicabtagene ciloleucel
        price: price_axicel                          # the therapy's price, paid at time 0
        one_off_costs: [cost_leukapheresis, ...]     # other costs at time 0
        os:  {cure_fraction: cure_os, distribution: weibull, shape: os_shape, scale: os_scale}
        pfs: {cure_fraction: cure_pfs, distribution: weibull, shape: pfs_shape, scale: pfs_scale}
        utilities: {progression_free: u_pf, progressed: u_pd}
        state_costs: {progression_free: c_pf, progressed: c_pd}     # per year
        end_of_life_cost: c_eol                                     # on each death
        adverse_events: [{name: CRS, probability: p_crs, cost: c_crs, qaly_loss: q_crs}]

Every value is a number, a parameter name or an arithmetic expression of parameter names (as in
:mod:`atmp_hta.params`). Uncured survival uses :mod:`atmp_hta.survival`'s flexsurv parameterisations and is
all-cause survival floored at the general-population hazard; the cured fraction follows the shipped UK
life table from ``start_age`` (``male_share`` men).

Evaluation (:func:`evaluate_values`) is one vectorised pass over draws (axis 0): no Python loop over draws.

Notes
-----
Per strategy and draw, with trace rows at t_j = jΔt (j = 0..n) and counting/discounting conventions of
:func:`atmp_hta.cohort.state_values`:

- OS(t) = π_OS S*(t) + (1 − π_OS) S_u,OS(t), PFS likewise (:func:`atmp_hta.survival.mixture_cure_survival`);
  PF = min(PFS, OS), PD = OS − PF;
- QALYs = Σ counted state-years × utility, discounted at the effects rate, minus Σ_AE p·qaly_loss;
- cost = price + one-off costs + Σ_AE p·cost (time 0, undiscounted) + state costs per year (discounted at
  the costs rate) + end-of-life cost × deaths in each cycle (discounted at the end of the cycle).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

import atmp_hta
from atmp_hta.cea import icer_table, net_monetary_benefit
from atmp_hta.cohort import cycle_times, state_values
from atmp_hta.exceptions import ParameterError, invalid
from atmp_hta.expressions import parse_expression
from atmp_hta.life_tables import general_population_survival
from atmp_hta.params import KIND_RANGES, Expr, Parameter, expressions_to_text, parameter_names, sample
from atmp_hta.policies import PolicyPack, load_policy
from atmp_hta.pricing import value_based_price
from atmp_hta.survival import DISTRIBUTIONS as SURVIVAL_DISTRIBUTIONS
from atmp_hta.survival import event_values, mixture_cure_survival, partitioned_survival, survival
from atmp_hta.voi import evpi

__all__ = [
    "HtaModel",
    "CeaResult",
    "load_hta_model",
    "parse_hta_model",
    "evaluate_values",
    "evaluate_cea",
    "cea_summary",
    "base_values",
    "uncertain_parameters",
    "parameter_quantiles",
    "nmb_model",
    "tornado",
    "parameter_bounds",
    "two_way",
    "one_way_curve",
    "threshold_analysis",
    "with_price",
    "priced_model_yaml",
]

HTA_DIR = Path(__file__).resolve().parents[1] / "parameters" / "hta"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


def _zero():
    return parse_expression(0.0)


class Settings(_Model):
    """Time grid, cohort and counting conventions (printed with every result)."""

    horizon_years: float = Field(40.0, gt=0, le=120)
    cycle_length: float = Field(1.0, gt=0, le=5)
    start_age: float = Field(ge=0, le=100)
    male_share: float = Field(ge=0, le=1)
    method: Literal["none", "start", "end", "half-cycle", "simpson"] = "half-cycle"
    timing: Literal["start", "end", "continuous"] = "continuous"
    source: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _grid(self):
        n = self.horizon_years / self.cycle_length
        if abs(n - round(n)) > 1e-9:
            raise ValueError(f".horizon_years: must be a whole number of cycles of {self.cycle_length:g} years, "
                             f"got {self.horizon_years:g}")
        return self

    @property
    def n_cycles(self) -> int:
        return int(round(self.horizon_years / self.cycle_length))


class Curve(_Model):
    """A mixture-cure curve: cure fraction and the uncured's parametric survival (flexsurv names)."""

    cure_fraction: Expr
    distribution: Literal[tuple(SURVIVAL_DISTRIBUTIONS)]  # type: ignore[valid-type]
    shape: Expr | None = None
    scale: Expr | None = None
    rate: Expr | None = None
    meanlog: Expr | None = None
    sdlog: Expr | None = None

    @model_validator(mode="after")
    def _params(self):
        want = set(SURVIVAL_DISTRIBUTIONS[self.distribution])
        given = {k for k in ("shape", "scale", "rate", "meanlog", "sdlog") if getattr(self, k) is not None}
        if given != want:
            raise ValueError(f".{self.distribution}: a {self.distribution} curve takes {sorted(want)}; "
                             f"got {sorted(given)}")
        return self

    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in SURVIVAL_DISTRIBUTIONS[self.distribution]}


class StateValues(_Model):
    progression_free: Expr
    progressed: Expr


class AdverseEvent(_Model):
    name: str = Field(min_length=1)
    probability: Expr
    cost: Expr = Field(default_factory=_zero)
    qaly_loss: Expr = Field(default_factory=_zero, description="QALYs lost per event (undiscounted, at time 0)")


class Strategy(_Model):
    label: str | None = None
    price: Expr = Field(default_factory=_zero)
    one_off_costs: list[Expr] = Field(default_factory=list)
    os: Curve
    pfs: Curve
    utilities: StateValues
    state_costs: StateValues
    end_of_life_cost: Expr = Field(default_factory=_zero)
    adverse_events: list[AdverseEvent] = Field(default_factory=list)


_ROLE_RANGES = {"probability": (0.0, 1.0), "utility": (-1.0, 1.0), "cost": (0.0, math.inf)}


class HtaModel(_Model):
    """A validated cost-effectiveness model file (module docstring)."""

    schema_version: Literal[1]
    name: str = Field(min_length=1)
    description: str | None = None
    policy: str = Field(min_length=1, description="policy pack name (nice, icer) or YAML path")
    discounting: str = Field("reference_case", description="'reference_case' or an alternative of the pack")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    intervention: str
    comparator: str
    settings: Settings
    sources: dict[str, str] = Field(min_length=1)
    parameters: dict[str, Parameter] = Field(min_length=1)
    strategies: dict[str, Strategy] = Field(min_length=2)

    _file_sha256: str | None = PrivateAttr(None)
    _path: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _references(self):
        problems = []
        for key in ("intervention", "comparator"):
            if getattr(self, key) not in self.strategies:
                problems.append(f"{key}: {getattr(self, key)!r} is not a strategy ({', '.join(self.strategies)})")
        if self.intervention == self.comparator:
            problems.append(f"comparator: must differ from intervention, got {self.comparator!r} for both")
        names = self.names
        for path, role, expr in self.expressions():
            for name in sorted(expr.names):
                if name not in names:
                    problems.append(f"{path}: unknown parameter {name!r} (define it under 'parameters')")
            low, high = _ROLE_RANGES.get(role, (-math.inf, math.inf))
            if expr.constant is not None and not low <= expr.constant <= high:
                problems.append(f"{path}: must be in [{low:g}, {high:g}], got {expr.constant:g}")
        for name, p in self.parameters.items():
            if p.source is not None and p.source not in self.sources:
                problems.append(f"parameters.{name}.source: {p.source!r} is not a key of 'sources'")
            if p.source is None and not p.assumption:
                problems.append(f"parameters.{name}: cite a 'source' or mark it 'assumption: true' with a note")
            if p.assumption and not p.note:
                problems.append(f"parameters.{name}.note: an assumption needs a note saying why")
        if self.settings.source is not None and self.settings.source not in self.sources:
            problems.append(f"settings.source: {self.settings.source!r} is not a key of 'sources'")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def names(self) -> frozenset:
        return parameter_names(self.parameters)

    def expressions(self):
        """Yield (field path, role, expression) for every expression in the file."""
        for sname, s in self.strategies.items():
            here = f"strategies.{sname}"
            yield f"{here}.price", "cost", s.price
            for i, c in enumerate(s.one_off_costs):
                yield f"{here}.one_off_costs[{i}]", "cost", c
            for curve in ("os", "pfs"):
                cv = getattr(s, curve)
                yield f"{here}.{curve}.cure_fraction", "probability", cv.cure_fraction
                for k, v in cv.params().items():
                    yield f"{here}.{curve}.{k}", "survival", v
            for state in ("progression_free", "progressed"):
                yield f"{here}.utilities.{state}", "utility", getattr(s.utilities, state)
                yield f"{here}.state_costs.{state}", "cost", getattr(s.state_costs, state)
            yield f"{here}.end_of_life_cost", "cost", s.end_of_life_cost
            for i, ae in enumerate(s.adverse_events):
                yield f"{here}.adverse_events[{i}].probability", "probability", ae.probability
                yield f"{here}.adverse_events[{i}].cost", "cost", ae.cost
                yield f"{here}.adverse_events[{i}].qaly_loss", "qaly_loss", ae.qaly_loss

    @property
    def sha256(self) -> str:
        """Hash of the file as read (or of the validated content when built in memory)."""
        if self._file_sha256:
            return self._file_sha256
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def policy_pack(self) -> PolicyPack:
        pack = _POLICY_CACHE.get(self.policy)
        if pack is None:
            pack = _POLICY_CACHE[self.policy] = load_policy(self.policy)
        return pack

    def discount_rates(self) -> tuple[float, float]:
        """(costs, effects) annual rates from the policy pack."""
        d = self.policy_pack.discounting
        if self.discounting == "reference_case":
            return d.reference_case.costs, d.reference_case.effects
        for alt in d.alternatives:
            if alt.name == self.discounting:
                return alt.costs, alt.effects
        raise ParameterError(
            f"discounting: {self.discounting!r} is not 'reference_case' or an alternative of policy pack "
            f"{self.policy!r} ({', '.join(a.name for a in d.alternatives) or 'none'})", field="discounting")

    @property
    def thresholds(self) -> list[float]:
        t = self.policy_pack.thresholds
        return [float(t.low), float(t.high)]

    @property
    def currency_code(self) -> str:
        return self.currency or self.policy_pack.currency

    def conventions(self) -> dict:
        rc, re_ = self.discount_rates()
        s = self.settings
        return {"policy": self.policy, "discounting": self.discounting, "discount_rate_costs": rc,
                "discount_rate_effects": re_, "horizon_years": s.horizon_years, "cycle_length": s.cycle_length,
                "method": s.method, "timing": s.timing, "start_age": s.start_age, "male_share": s.male_share,
                "one_off_costs": "at time 0, undiscounted", "end_of_life_cost": "discounted at the end of the cycle",
                "currency": self.currency_code}


_POLICY_CACHE: dict[str, PolicyPack] = {}


# ----------------------------------------------------------------------------------------------- loading
def _loc(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "constrained-", "lax-")):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _format_error(error: ValidationError, origin: str) -> ParameterError:
    messages = []
    first = None
    for err in error.errors(include_url=False):
        loc = _loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error" and ": " in msg and (msg[0] in "." or not loc):
            parts = []
            for piece in msg.split("; "):
                rel, _, text = piece.partition(": ")
                parts.append(f"{loc + rel if rel.startswith('.') else rel}: {text}")
            messages.extend(parts)
            first = first or parts[0].split(":")[0]
            continue
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not allowed here; check the spelling)"
        elif err["type"] == "missing":
            msg = "missing required field"
        got = err.get("input")
        tail = "" if err["type"] in ("value_error", "missing") or isinstance(got, dict | list) else f" (got {got!r})"
        messages.append(f"{loc or '(top level)'}: {msg}{tail}")
        first = first or loc
    shown = "; ".join(messages[:5]) + (f"; and {len(messages) - 5} more" if len(messages) > 5 else "")
    return ParameterError(f"{origin}: {shown}", field=first)


def parse_hta_model(data: Any, origin: str = "model") -> HtaModel:
    """Validate an already-parsed mapping; errors name the field path, the allowed range and the value."""
    if not isinstance(data, dict):
        raise ParameterError(f"{origin}: expected a mapping with 'policy', 'parameters', 'strategies', ...; "
                             f"got {type(data).__name__}")
    try:
        model = HtaModel.model_validate(data)
    except ValidationError as exc:
        raise _format_error(exc, origin) from None
    model.policy_pack  # noqa: B018 - fail now on an unknown pack
    model.discount_rates()
    return model


def load_hta_model(path) -> HtaModel:
    """Read and validate a model file (a bare name is looked up in ``parameters/hta``).

    Examples
    --------
    >>> m = load_hta_model("axicabtagene_ciloleucel_cea.yaml")
    >>> m.policy, sorted(m.strategies)
    ('nice', ['axi-cel', 'salvage chemotherapy'])
    """
    path = Path(path)
    if not path.is_file() and path.parent == Path(".") and (HTA_DIR / path.name).is_file():
        path = HTA_DIR / path.name
    if path.is_dir():
        raise ParameterError(f"{path}: is a directory; give a model file (parameters/hta/*.yaml)", field="path")
    if not path.is_file():
        raise ParameterError(f"{path}: no such file", field="path")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: not UTF-8 text; save the file as UTF-8", field="path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParameterError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or 'syntax'}") from None
    model = parse_hta_model(data, origin=path.name)
    model._file_sha256 = hashlib.sha256(raw).hexdigest()
    model._path = str(path)
    return model


# ---------------------------------------------------------------------------------------------- sampling
def base_values(model: HtaModel) -> dict[str, np.ndarray]:
    """Every parameter at its point value (the mean), arrays of one draw."""
    return sample(model, 1)


def uncertain_parameters(model: HtaModel) -> list[str]:
    """Names of the parameters with a distribution (Dirichlet components as ``name.component``)."""
    out = []
    for name, p in model.parameters.items():
        if p.is_uncertain:
            out.extend([f"{name}.{c}" for c in p.components] or [name])
    return out


def parameter_quantiles(model: HtaModel, probabilities=(0.025, 0.975), n_draws: int = 200_000,
                        rng: int = 20_251_125, names=None) -> dict[str, tuple[float, ...]]:
    """Quantiles of each uncertain parameter (or of those in ``names``), from ``n_draws`` draws of
    :func:`atmp_hta.params.sample`.

    Empirical quantiles (of a large fixed-seed sample) keep one distribution code path for every kind of
    distribution, Dirichlet components included; with 200,000 draws the Monte Carlo standard error of a
    2.5% quantile is about 0.005 standard deviations (normal case). Each parameter is drawn from its own
    stream, so a parameter's quantiles do not depend on which others are asked for.
    """
    wanted = None if names is None else {str(n).split(".")[0] for n in names}
    names = [n for n, p in model.parameters.items() if p.is_uncertain and (wanted is None or n in wanted)]
    draws = sample(model, n_draws, rng=rng, names=names)
    q = np.asarray(probabilities, dtype=float)
    return {k: tuple(float(x) for x in np.quantile(v, q)) for k, v in draws.items()}


# -------------------------------------------------------------------------------------------- the model
def _ev(expr, values):
    return np.asarray(expr.evaluate(values), dtype=float)


def _curve(cv: Curve, t, background, values):
    params = {k: _ev(v, values).reshape(-1) for k, v in cv.params().items()}
    uncured = survival(cv.distribution, t, **params)
    pi = _ev(cv.cure_fraction, values).reshape(-1)
    return mixture_cure_survival(pi, uncured, background)


def evaluate_values(model: HtaModel, values: dict) -> dict[str, dict[str, np.ndarray]]:
    """Evaluate every strategy on a values dict (parameter name -> array over draws); vectorised.

    Returns
    -------
    dict
        strategy -> {"cost", "effect", "life_years", "price"}: arrays of shape (n,), n the number of draws.
    """
    s = model.settings
    rate_c, rate_e = model.discount_rates()
    n = max([np.size(v) for v in values.values()] + [1])
    t = cycle_times(s.n_cycles, s.cycle_length)
    background = general_population_survival(s.start_age, t, sex=s.male_share)
    kw = {"method": s.method, "timing": s.timing, "cycle_length": s.cycle_length}
    out = {}
    for name, st in model.strategies.items():
        os_curve = _curve(st.os, t, background, values)
        pfs_curve = _curve(st.pfs, t, background, values)
        occupancy = partitioned_survival(pfs_curve, os_curve)

        def per_state(sv):
            a = np.broadcast_to(_ev(sv.progression_free, values), (n,))
            b = np.broadcast_to(_ev(sv.progressed, values), (n,))
            return np.stack([a, b, np.zeros(n)], axis=1)

        qalys = state_values(occupancy, per_state(st.utilities), discount_rate=rate_e, **kw)
        life_years = state_values(occupancy, [1.0, 1.0, 0.0], **kw)
        price = np.broadcast_to(_ev(st.price, values), (n,)).astype(float)
        cost = price + sum((_ev(c, values) for c in st.one_off_costs), np.zeros(n))
        cost = cost + state_values(occupancy, per_state(st.state_costs), discount_rate=rate_c, **kw)
        eol = np.broadcast_to(_ev(st.end_of_life_cost, values), (n,))
        cost = cost + event_values(os_curve, eol, timing="end", discount_rate=rate_c, cycle_length=s.cycle_length)
        for ae in st.adverse_events:
            p = _ev(ae.probability, values)
            cost = cost + p * _ev(ae.cost, values)
            qalys = qalys - p * _ev(ae.qaly_loss, values)
        out[name] = {"cost": np.broadcast_to(cost, (n,)).copy(), "effect": np.broadcast_to(qalys, (n,)).copy(),
                     "life_years": np.broadcast_to(life_years, (n,)).copy(), "price": price.copy()}
    return out


# -------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class CeaResult:
    """Draws of a probabilistic (or base-case) run: ``table`` has one row per draw × strategy."""

    table: pd.DataFrame
    draws: dict = field(repr=False)
    n_draws: int
    seed: Any
    model_sha256: str
    conventions: dict

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def matrix(self, column: str) -> np.ndarray:
        """(n_draws, n_strategies) array of a column, strategies in the model's order."""
        names = list(pd.unique(self.table["strategy"]))
        return self.table[column].to_numpy().reshape(len(names), self.n_draws).T

    @property
    def strategies(self) -> list[str]:
        return list(pd.unique(self.table["strategy"]))


def _tidy(model, results, n):
    frames = [pd.DataFrame({"draw": np.arange(n), "strategy": name, "cost": r["cost"], "effect": r["effect"],
                            "life_years": r["life_years"], "price": r["price"]})
              for name, r in results.items()]
    table = pd.concat(frames, ignore_index=True)
    table["strategy"] = table["strategy"].astype(object)
    return table


def evaluate_cea(model: HtaModel, n_draws: int = 1, rng=None, *, block_size: int = 10_000,
                 progress=None) -> CeaResult:
    """Probabilistic (``n_draws`` > 1) or base-case (``n_draws`` = 1, point values) evaluation.

    Parameters are drawn at once with :func:`atmp_hta.params.sample` (same seed, same bits, whatever the
    block size); the model runs on blocks of ``block_size`` draws, each block vectorised; ``progress``, if
    given, is called with the number of draws finished after each block.
    """
    where = "evaluate_cea"
    if not isinstance(model, HtaModel):
        raise invalid("model", "an HtaModel (from load_hta_model)", type(model).__name__, where)
    if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer) or block_size < 1:
        raise invalid("block_size", "a whole number >= 1", block_size, where)
    draws = sample(model, n_draws, rng)
    parts: dict[str, dict[str, list]] = {s: {k: [] for k in ("cost", "effect", "life_years", "price")}
                                         for s in model.strategies}
    for start in range(0, n_draws, block_size):
        stop = min(start + block_size, n_draws)
        block = evaluate_values(model, {k: v[start:stop] for k, v in draws.items()})
        for s, r in block.items():
            for k, v in r.items():
                parts[s][k].append(v)
        if progress is not None:
            progress(stop - start)
    results = {s: {k: np.concatenate(v) for k, v in r.items()} for s, r in parts.items()}
    seed = rng if isinstance(rng, int | None) else "generator"
    return CeaResult(_tidy(model, results, n_draws), draws, int(n_draws), seed, model.sha256, model.conventions())


def cea_summary(model: HtaModel, result: CeaResult, thresholds=None) -> dict:
    """ICER table, and at each threshold: expected NMB, probability cost-effective, EVPI, value-based price.

    Returns
    -------
    dict
        ``icers`` (DataFrame), ``by_threshold`` (DataFrame: ``threshold, optimal, probability_cost_effective,
        nmb_<strategy>..., evpi, value_based_price``), ``provenance`` (dict).
    """
    names = result.strategies
    costs, effects = result.matrix("cost"), result.matrix("effect")
    grid = model.thresholds if thresholds is None else [float(x) for x in np.atleast_1d(thresholds)]
    i, c = names.index(model.intervention), names.index(model.comparator)
    price = result.matrix("price")[:, i]
    rows = []
    for lam in grid:
        nmb = net_monetary_benefit(costs, effects, lam)
        best = nmb.argmax(axis=1)
        mean = nmb.mean(axis=0)
        opt = int(mean.argmax())
        vbp = value_based_price(effects[:, i] - effects[:, c], costs[:, i] - price - costs[:, c], lam)
        row = {"threshold": lam, "optimal": names[opt], "probability_cost_effective": float((best == opt).mean())}
        row.update({f"nmb_{s}": float(m) for s, m in zip(names, mean, strict=True)})
        row.update({"evpi": evpi(nmb), "value_based_price": vbp.price})
        rows.append(row)
    provenance = {"package_version": atmp_hta.__version__, "model": model.name, "model_sha256": result.model_sha256,
                  "path": model._path, "seed": result.seed, "n_draws": result.n_draws, **result.conventions}
    return {"icers": icer_table(names, costs, effects), "by_threshold": pd.DataFrame(rows),
            "provenance": provenance}


def with_price(model: HtaModel, result: CeaResult, price: float) -> CeaResult:
    """``result`` with the intervention's price set to ``price`` in every draw.

    Exact without re-running the model: the price is paid once at time 0, undiscounted, so the intervention's
    cost moves by (new price − old price) draw by draw and nothing else changes.
    """
    price = float(price)
    if not (math.isfinite(price) and price >= 0):
        raise invalid("price", "a finite amount >= 0", price, "with_price")
    table = result.table.copy()
    rows = table["strategy"] == model.intervention
    table.loc[rows, "cost"] = table.loc[rows, "cost"] - table.loc[rows, "price"] + price
    table.loc[rows, "price"] = price
    return CeaResult(table, result.draws, result.n_draws, result.seed, result.model_sha256,
                     {**result.conventions, "price": price})


# ------------------------------------------------------------------------------------------- tornado
def nmb_model(model: HtaModel, threshold: float):
    """A vectorised function of a values dict returning the incremental NMB of intervention vs comparator."""
    def run(values):
        r = evaluate_values(model, values)
        a, b = r[model.intervention], r[model.comparator]
        return {"incremental_nmb": threshold * (a["effect"] - b["effect"]) - (a["cost"] - b["cost"])}
    return run


def tornado(model: HtaModel, threshold: float | None = None, probabilities=(0.025, 0.975)) -> pd.DataFrame:
    """One-way sensitivity of the incremental NMB at ``threshold`` (default: the pack's upper threshold),
    every uncertain parameter at its 2.5% and 97.5% quantiles, the others at their means.

    Returns the :func:`atmp_hta.sensitivity.tornado_table` (widest swing first) with ``outcome`` and
    ``threshold`` columns.
    """
    from atmp_hta.sensitivity import one_way, tornado_table

    lam = model.thresholds[-1] if threshold is None else float(threshold)
    base = {k: float(v[0]) for k, v in base_values(model).items()}
    ranges = {k: q for k, q in parameter_quantiles(model, probabilities).items() if q[0] != q[1]}
    table = tornado_table(one_way(nmb_model(model, lam), base, ranges))
    table["outcome"] = "incremental_nmb"
    table["threshold"] = lam
    return table


# --------------------------------------------------------------------- two-way and threshold analysis
def _wtp(model: HtaModel, threshold, where: str) -> float:
    lam = model.thresholds[-1] if threshold is None else threshold
    try:
        lam = float(lam)
    except (TypeError, ValueError):
        raise invalid("threshold", "a positive number (willingness to pay per QALY)", threshold, where) from None
    if not (math.isfinite(lam) and lam > 0):
        raise invalid("threshold", "a positive number (willingness to pay per QALY)", threshold, where)
    return lam


def _point(model: HtaModel) -> dict[str, float]:
    return {k: float(v[0]) for k, v in base_values(model).items()}


def parameter_bounds(model: HtaModel, name: str, bounds=None, *, probabilities=(0.025, 0.975)) -> tuple[float, float]:
    """The range over which a deterministic sensitivity analysis varies a parameter of the model file.

    Parameters
    ----------
    model : HtaModel
    name : str
        A parameter of the model file (a Dirichlet component as ``name.component``).
    bounds : (low, high), optional
        Given: checked (finite, low < high, inside the range of the parameter's kind, e.g. [0, 1] for a
        probability). Omitted: an uncertain parameter's ``probabilities`` quantiles (2.5% and 97.5%, as the
        tornado), a fixed parameter from 0 to twice its value (within its kind's range).

    Examples
    --------
    >>> m = load_hta_model("axicabtagene_ciloleucel_cea.yaml")
    >>> parameter_bounds(m, "price_axicel")
    (0.0, 560902.0)
    >>> parameter_bounds(m, "cure_os_axicel", (0.2, 0.6))
    (0.2, 0.6)
    """
    where = "parameter_bounds"
    point = _point(model)
    if not isinstance(name, str) or name not in point:
        raise invalid("name", f"a parameter of the model file: one of {sorted(point)}", name, where)
    root, _, component = name.partition(".")
    spec = model.parameters[root]
    kind = "fraction" if component else spec.kind
    low_k, high_k = KIND_RANGES[kind]
    if bounds is not None:
        try:
            low, high = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise invalid("bounds", f"a (low, high) pair of numbers for {name!r}", bounds, where) from None
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise invalid("bounds", f"finite numbers with low < high for {name!r}", (low, high), where)
        if low < low_k or high > high_k:
            raise invalid("bounds", f"inside [{low_k:g}, {high_k:g}] for {name!r} (a {kind} parameter)",
                          (low, high), where)
        return low, high
    if spec.is_uncertain:
        low, high = parameter_quantiles(model, probabilities, names=[name])[name]
        return float(low), float(high)
    value = point[name]
    if value == 0:
        raise invalid("bounds", f"given for {name!r}: it is fixed at 0, so it has no default range", None, where)
    low, high = sorted((0.0, 2.0 * value))
    return max(low, low_k), min(high, high_k)


def two_way(model: HtaModel, x: str, y: str, *, x_bounds=None, y_bounds=None, threshold: float | None = None,
            n_points=(21, 21)) -> pd.DataFrame:
    """Two-way sensitivity of the incremental NMB (intervention vs comparator) at ``threshold`` over a grid.

    ``x`` and ``y`` are any two parameters of the model file, varied over ``x_bounds`` and ``y_bounds``
    (default: :func:`parameter_bounds`), every other parameter at its point value; the whole grid and the base
    case go through the model in one vectorised call (:func:`atmp_hta.sensitivity.two_way`).

    Returns
    -------
    DataFrame
        The :func:`atmp_hta.sensitivity.two_way` table (``x_parameter, x_value, y_parameter, y_value, outcome,
        result, x_base_value, y_base_value, base_result``; ``outcome`` is ``incremental_nmb``) with a ``wtp``
        column; :func:`atmp_hta.sensitivity.two_way_contour` gives its NMB = 0 line.

    Notes
    -----
    result = λ (E_int − E_comp) − (C_int − C_comp) at each grid point, λ = ``threshold`` (default: the
    policy pack's upper threshold).
    """
    from atmp_hta import sensitivity

    where = "two_way"
    lam = _wtp(model, threshold, where)
    if x == y:
        raise invalid("y", "a parameter other than x", y, where)
    xb = parameter_bounds(model, x, x_bounds)
    yb = parameter_bounds(model, y, y_bounds)
    table = sensitivity.two_way(nmb_model(model, lam), _point(model), (x, *xb), (y, *yb), n_points=n_points)
    table["wtp"] = lam
    return table


def one_way_curve(model: HtaModel, parameter: str, *, bounds=None, threshold: float | None = None,
                  n_points: int = 101) -> pd.DataFrame:
    """The incremental NMB at ``threshold`` as one parameter moves over ``bounds``, the others at point values.

    Returns the :func:`atmp_hta.sensitivity.one_way` table (``parameter, point, value, base_value, outcome,
    result, base_result``; ``n_points`` evenly spaced values) with a ``wtp`` column: the curve a threshold
    chart draws.
    """
    from atmp_hta import sensitivity

    where = "one_way_curve"
    lam = _wtp(model, threshold, where)
    bounds = parameter_bounds(model, parameter, bounds)
    table = sensitivity.one_way(nmb_model(model, lam), _point(model), {parameter: bounds}, n_points=n_points)
    table["wtp"] = lam
    return table


def threshold_analysis(model: HtaModel, parameter: str, *, bounds=None, threshold: float | None = None,
                       n_points: int = 201) -> pd.DataFrame:
    """Values of one parameter at which the incremental NMB at ``threshold`` is zero (the ICER equals it).

    The parameter moves over ``bounds`` (default: :func:`parameter_bounds`), the others at their point values;
    crossings are bracketed on a vectorised grid of ``n_points`` and refined with Brent's method
    (:func:`atmp_hta.sensitivity.threshold_analysis`). For the intervention's price this is the deterministic
    value-based price: λ ΔE − (ΔC − price) at the point values.

    Returns
    -------
    DataFrame
        Columns ``parameter, threshold, outcome, target, direction, base_value, wtp``: one row per crossing
        (``threshold`` is the parameter's value there), empty if the NMB does not change sign within ``bounds``.
    """
    from atmp_hta import sensitivity

    where = "threshold_analysis"
    lam = _wtp(model, threshold, where)
    bounds = parameter_bounds(model, parameter, bounds)
    table = sensitivity.threshold_analysis(nmb_model(model, lam), _point(model), parameter, bounds,
                                           outcome="incremental_nmb", n_points=n_points)
    table["wtp"] = lam
    return table


# ------------------------------------------------------------------------------ a priced model file
def _price_parameter(model: HtaModel) -> str | None:
    """The fixed-value parameter that is the intervention's price and nothing else, if there is one."""
    path = f"strategies.{model.intervention}.price"
    expr = model.strategies[model.intervention].price
    name = expr.text.strip()
    if expr.names != {name} or name not in model.parameters or model.parameters[name].value is None:
        return None
    if any(name in e.names for p, _, e in model.expressions() if p != path):
        return None
    return name


def priced_model_yaml(model: HtaModel, price: float, threshold: float | None = None,
                      origin: str = "the cost-effectiveness dashboard") -> str:
    """The model file with the intervention's price set to ``price``, as YAML that loads back.

    If the price is a fixed-value parameter used nowhere else, that parameter's value is replaced; otherwise
    the intervention's ``price`` becomes the number. Either way the file evaluates as
    ``with_price(model, result, price)`` (:func:`atmp_hta.hta_model.with_price`) and draws the same random
    numbers. A model file has no threshold (it comes from the policy pack): ``threshold`` is written as a
    comment. ``origin`` says where the price was set (in the file's comments and the price's note).

    Examples
    --------
    >>> m = load_hta_model("axicabtagene_ciloleucel_cea.yaml")
    >>> again = parse_hta_model(yaml.safe_load(priced_model_yaml(m, 250_000)), origin="the download")
    >>> float(again.parameters["price_axicel"].value)
    250000.0
    """
    price = float(price)
    data = expressions_to_text(model.model_dump(mode="json", by_alias=True, exclude_none=True))
    name = _price_parameter(model)
    if name is not None:
        old = model.parameters[name]
        entry = data["parameters"][name]
        entry["value"] = price
        entry["note"] = (f"set to {price:,.0f} in {origin}; the file had {old.value:,.0f}"
                         + (f" ({old.note})" if old.note else ""))
    else:
        data["strategies"][model.intervention]["price"] = price
    parse_hta_model(data, origin="the priced model")  # what is offered must load back
    currency = model.currency_code
    lines = [f"# {model.name}: the intervention's price as set in {origin}.",
             f"# Price of {model.intervention}: {currency} {price:,.0f}."]
    if threshold is not None:
        low, high = model.thresholds
        lines.append(f"# Willingness to pay shown: {currency} {float(threshold):,.0f} per QALY (thresholds come "
                     f"from the policy pack '{model.policy}', {currency} {low:,.0f}-{high:,.0f}; a model file "
                     "holds none).")
    if model._path:
        lines.append(f"# From {Path(model._path).name} (sha256 {model.sha256[:12]}).")
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(lines) + "\n" + body
