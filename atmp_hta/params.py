"""Parameter sets: validated YAML files describing one product, its comparator, harms and policy settings.

``load_parameters(path)`` reads and validates a file; :func:`sample` turns it into draws (a mapping from
parameter name to an ndarray whose axis 0 is the draw; one draw is the base case at the point values,
which are the distributions' means). Every error names the field path, the allowed range and the value
received. ``atmp-hta schema`` writes the JSON Schema of the format for editors.

The format, in brief (see ``parameters/*.yaml`` for complete, cited examples)::

    schema_version: 1
    product: {name: ..., kind: car-t, indication: ..., comparator: ...}
    sources: {zuma1: "Neelapu SS et al. N Engl J Med 2017;377:2531-44"}
    settings: {discount_rate: 0.035, cost_discount_rate: 0.035, timing: end, risk_aversion: 0.5, ...}
    parameters:
      u_cure: {kind: utility, beta: {mean: 0.83, sd: 0.03}, source: zuma1}
      response: {kind: probability, dirichlet: {cure: 39, partial: 15, none: 46}, source: zuma1}
    population: {general_population_qalys: gp_qalys, unmet_need: 0.8}
    strategies:
      treatment:
        label: Axicabtagene ciloleucel
        branches:
          - {name: cure, probability: response.cure, segments: [{utility: u_cure, years: le}]}
          - {name: no response, probability: complement, cost: c_salvage, cost_time: 0.5,
             segments: [{utility: u_pd, years: 2, cost_per_year: c_care}]}
      comparator: {...}
    harms:
      - {name: Grade >=3 CRS, probability: p_crs, utility_decrement: 0.3, duration_years: 0.05}
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import zlib
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from atmp_hta.distributions import (
    DISTRIBUTIONS,
    KIND_RANGES,
    Beta,
    Events,
    Gamma,
    LogNormal,
    Normal,
    Triangular,
    Uniform,
)
from atmp_hta.exceptions import ParameterError, invalid
from atmp_hta.expressions import Expression, parse_expression

__all__ = [
    "ParameterSet",
    "Parameter",
    "Settings",
    "load_parameters",
    "parse_parameters",
    "sample",
    "point_values",
    "with_mean",
    "parameter_range",
    "json_schema",
    "to_yaml",
    "expressions_to_text",
    "COMPLEMENT",
    "parameter_names",
]

COMPLEMENT = "complement"
PROBABILITY_TOLERANCE = 1e-9

_EXPR_SCHEMA = {"anyOf": [{"type": "number"}, {"type": "string"}]}
Expr = Annotated[Expression, BeforeValidator(parse_expression), WithJsonSchema(_EXPR_SCHEMA)]


def _parse_probability(value):
    if isinstance(value, str) and value.strip() == COMPLEMENT:
        return COMPLEMENT
    return parse_expression(value)


ProbExpr = Annotated[
    Expression | Literal["complement"],
    BeforeValidator(_parse_probability),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}], "description": "or 'complement'"}),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Product(_Model):
    name: str = Field(min_length=1)
    kind: Literal["car-t", "aav-gene-therapy", "lentiviral-hsc-gene-therapy", "cell-therapy", "tissue-engineered",
                  "other"]
    indication: str = Field(min_length=1)
    comparator: str = Field(min_length=1)
    short_name: str | None = None
    description: str | None = None


class Settings(_Model):
    """Conventions and policy choices; each is printed with every result."""

    discount_rate: float = Field(0.035, ge=0.0, lt=1.0, description="annual rate for QALYs")
    cost_discount_rate: float | None = Field(
        None,
        ge=0.0,
        lt=1.0,
        description="annual rate for costs; None (the default) means the same as discount_rate. Costs and "
        "effects may be discounted differently (e.g. 0.04 and 0.015 in the Netherlands)",
    )
    timing: Literal["start", "end", "continuous"] = "end"
    severity_scheme: Literal["nice-2022", "continuous", "none"] = "nice-2022"
    severity_basis: Literal["expected", "per-draw"] = Field(
        "expected",
        description="'expected': one weight from the expected QALY shortfall (NICE practice); "
        "'per-draw': a weight per draw",
    )
    unmet_need_scheme: Literal["none", "linear", "convex"] = "none"
    max_uplift: float = Field(0.0, ge=0.0, le=1.0)
    risk_aversion: float = Field(0.0, ge=0.0, description="CARA r per QALY, k for mean-sd, alpha for quantile")
    ce_method: Literal["cara", "mean-sd", "quantile"] = Field(
        "cara",
        description="certainty equivalent for the uncertainty penalty: 'cara' (exponential utility), "
        "'quantile' (the alpha-quantile; the penalty is floored at 0), or 'mean-sd' (mean minus k standard "
        "deviations: a mean-variance rule that does not respect first-order stochastic dominance, so more "
        "harm can raise the net value; results carry a caveat)",
    )
    decision_threshold: float = Field(0.0, description="approve if net value (QALYs) exceeds this")
    penalty_draws: int = Field(20_000, ge=1_000, le=2_000_000, description="draws for the uncertainty penalty")

    @property
    def cost_rate(self) -> float:
        """The annual discount rate applied to costs: ``cost_discount_rate``, or ``discount_rate`` if None."""
        return self.discount_rate if self.cost_discount_rate is None else self.cost_discount_rate

    @model_validator(mode="after")
    def _quantile(self):
        if self.ce_method == "quantile" and not 0.0 < self.risk_aversion <= 0.5:
            raise ValueError(
                f".risk_aversion: with ce_method 'quantile', risk_aversion is a tail probability and must be "
                f"in (0, 0.5], got {self.risk_aversion}"
            )
        return self


class Parameter(_Model):
    """One input: a fixed ``value`` or exactly one distribution, with its kind (which fixes its range)."""

    kind: Literal[tuple(KIND_RANGES)]  # type: ignore[valid-type]
    value: float | None = None
    beta: Beta | None = None
    gamma: Gamma | None = None
    lognormal: LogNormal | None = None
    normal: Normal | None = None
    uniform: Uniform | None = None
    triangular: Triangular | None = None
    events: Events | None = None
    dirichlet: dict[str, PositiveFloat] | None = None
    label: str | None = None
    source: str | None = None
    note: str | None = None
    assumption: bool = False

    @model_validator(mode="after")
    def _one_specification(self):
        given = [k for k in ("value", "dirichlet", *DISTRIBUTIONS) if getattr(self, k) is not None]
        if len(given) != 1:
            options = ", ".join(("value", "dirichlet", *DISTRIBUTIONS))
            raise ValueError(f"give exactly one of {options}; got {given or 'none'}")
        low, high = KIND_RANGES[self.kind]
        span = f"[{low:g}, {high:g}]"
        if self.value is not None:
            if not (math.isfinite(self.value) and low <= self.value <= high):
                raise ValueError(f".value: a {self.kind} must be in {span}, got {self.value}")
        elif self.dirichlet is not None:
            if self.kind != "probability":
                raise ValueError(
                    f".dirichlet: a dirichlet gives probabilities; kind must be 'probability', "
                    f"got {self.kind!r}"
                )
            if len(self.dirichlet) < 2:
                raise ValueError(
                    f".dirichlet: a dirichlet needs at least two components, got {len(self.dirichlet)}"
                )
        else:
            key = given[0]
            s_low, s_high = self.spec.support()
            if s_low < low or s_high > high:
                raise ValueError(
                    f".{key}: a {key} distribution has support [{s_low:g}, {s_high:g}], outside the range "
                    f"of a {self.kind} {span}; choose a distribution within it"
                )
        return self

    @property
    def spec(self):
        """The distribution specification, or None for a fixed value or a Dirichlet."""
        for key in DISTRIBUTIONS:
            value = getattr(self, key)
            if value is not None:
                return value
        return None

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(self.dirichlet) if self.dirichlet else ()

    def mean(self):
        """Point value (float), or a dict of component means for a Dirichlet."""
        if self.value is not None:
            return self.value
        if self.dirichlet is not None:
            total = sum(self.dirichlet.values())
            return {k: a / total for k, a in self.dirichlet.items()}
        return self.spec.mean()

    def sd(self):
        if self.value is not None:
            return 0.0
        if self.dirichlet is not None:
            total = sum(self.dirichlet.values())
            return {k: math.sqrt(a * (total - a) / (total**2 * (total + 1))) for k, a in self.dirichlet.items()}
        return self.spec.sd()

    @property
    def is_uncertain(self) -> bool:
        return self.value is None


class Segment(_Model):
    """A stretch of constant utility: ``utility`` for ``years`` years beginning at ``start``.

    ``cost_per_year`` (optional) is a constant cost stream over the same stretch, discounted like the QALYs
    (same timing convention) but with the costs' rate (``settings.cost_discount_rate``).
    """

    utility: Expr
    years: Expr
    start: Expr = Field(default_factory=lambda: parse_expression(0.0))
    cost_per_year: Expr | None = None


class Branch(_Model):
    """A branch of a chance node: its probability, then either ``segments`` (a terminal) or ``branches``.

    ``cost`` (optional) is a one-off cost incurred by everyone who takes the branch, ``cost_time`` years
    from the start of the model (default 0: undiscounted), discounted as a point value (1 + r)^-t with the
    costs' rate.
    """

    name: str = Field(min_length=1)
    probability: ProbExpr
    segments: list[Segment] | None = None
    branches: list[Branch] | None = None
    cost: Expr | None = None
    cost_time: Expr | None = Field(None, description="years from the start at which 'cost' is incurred; 0 if absent")

    @model_validator(mode="after")
    def _terminal_or_chance(self):
        if (self.segments is None) == (self.branches is None):
            raise ValueError(f"branch {self.name!r} needs exactly one of 'segments' (a terminal) or 'branches'")
        if self.cost_time is not None and self.cost is None:
            raise ValueError(f".cost_time: branch {self.name!r} has a cost_time but no 'cost' to incur then")
        if self.branches is not None:
            _check_node(self.branches, ".branches")
        return self


def _check_node(branches: list[Branch], rel: str = ""):
    """Check a chance node. Messages start with the path relative to the validator's location (``rel``:
    "" when validating the ``branches`` field itself, ".branches" from the parent branch), which
    ``_format_error`` joins to the location so that they name e.g. ``...branches[1].probability``."""

    def at(msg):
        return f"{rel}: {msg}" if rel else msg

    if not branches:
        raise ValueError(at("a chance node needs at least one branch"))
    names = [b.name for b in branches]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(at(f"branch names must be unique within a node, got duplicates {dupes}"))
    complements = [i for i, b in enumerate(branches) if b.probability == COMPLEMENT]
    if len(complements) > 1:
        raise ValueError(
            f"{rel}[{complements[1]}].probability: at most one branch of a node may be 'complement'; "
            f"branches[{complements[0]}] ({branches[complements[0]].name!r}) already is"
        )
    others = [(i, b, b.probability.constant) for i, b in enumerate(branches) if b.probability != COMPLEMENT]
    if all(c is not None for _, _, c in others):
        for i, b, c in others:
            if not 0.0 <= c <= 1.0:
                raise ValueError(f"{rel}[{i}].probability: must be in [0, 1], got {c:g} (branch {b.name!r})")
        total = sum(c for _, _, c in others)
        terms = " + ".join(f"{c:g} ({b.name!r})" for _, b, c in others)
        if complements and total > 1.0 + PROBABILITY_TOLERANCE:
            raise ValueError(
                f"{rel}[{complements[0]}].probability: 'complement' would be 1 - {total:.12g} < 0; the other "
                f"branches' probabilities sum above 1: {terms}"
            )
        if not complements and abs(total - 1.0) > PROBABILITY_TOLERANCE:
            raise ValueError(at(
                f"branch probabilities must sum to 1 (within 1e-9), got {terms} = {total:.12g}; "
                "make one branch 'complement' or fix the values"
            ))


class Strategy(_Model):
    label: str = Field(min_length=1)
    branches: list[Branch]
    cost: Expr | None = None

    @field_validator("branches")
    @classmethod
    def _node(cls, branches):
        _check_node(branches, "")
        return branches


class Harm(_Model):
    """A harm of the treatment: probability, onset and a discounted QALY loss."""

    name: str = Field(min_length=1)
    probability: Expr
    utility_decrement: Expr
    duration_years: Expr
    onset_years: Expr = Field(default_factory=lambda: parse_expression(0.0))
    source: str | None = None
    note: str | None = None


class Population(_Model):
    general_population_qalys: Expr = Field(
        description="expected remaining discounted QALYs of the general population of the patients' age and sex"
    )
    unmet_need: Expr = Field(default_factory=lambda: parse_expression(0.0), description="in [0, 1]")
    age_years: float | None = Field(None, ge=0, le=120)
    source: str | None = None


# Role of each expression field: (kind of parameter it may reference, allowed constant range)
_ROLES = {
    "probability": ("probability", (0.0, 1.0)),
    "utility": ("utility", (-1.0, 1.0)),
    "utility_decrement": ("utility", (-1.0, 2.0)),
    "years": ("duration", (0.0, math.inf)),
    "start": ("duration", (0.0, math.inf)),
    "duration_years": ("duration", (0.0, math.inf)),
    "onset_years": ("duration", (0.0, math.inf)),
    "cost": ("cost", (0.0, math.inf)),
    "cost_per_year": ("cost", (0.0, math.inf)),  # role of a cost (a per-year stream)
    "cost_time": ("duration", (0.0, math.inf)),  # role of a start (a time in years)
    "general_population_qalys": ("qalys", (0.0, math.inf)),
    "unmet_need": ("fraction", (0.0, 1.0)),
}
_COMPATIBLE = {
    "probability": {"probability", "fraction"},
    "fraction": {"probability", "fraction"},
    "utility": {"utility"},
    "duration": {"duration"},
    "cost": {"cost"},
    "qalys": {"qalys"},
}


class ParameterSet(_Model):
    """A whole, validated parameter file."""

    schema_version: Literal[1] = 1
    product: Product
    sources: dict[str, str] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    population: Population
    strategies: dict[str, Strategy]
    harms: list[Harm] = Field(default_factory=list)
    _file_sha256: str | None = PrivateAttr(None)
    _path: str | None = PrivateAttr(None)

    @property
    def file_sha256(self) -> str | None:
        """sha256 of the file this set was loaded from, or None if it was not loaded or has been changed."""
        return self._file_sha256

    @property
    def path(self) -> str | None:
        return self._path

    @field_validator("parameters")
    @classmethod
    def _names(cls, parameters):
        for name in parameters:
            if not name.isidentifier():
                raise ValueError(f"parameter names must be identifiers (letters, digits, _), got {name!r}")
        return parameters

    @field_validator("strategies")
    @classmethod
    def _roles(cls, strategies):
        missing = [k for k in ("treatment", "comparator") if k not in strategies]
        if missing:
            raise ValueError(
                f".{missing[0]}: missing required strategy (strategies must include 'treatment' and "
                f"'comparator'; missing {missing})"
            )
        return strategies

    @model_validator(mode="after")
    def _references(self):
        known = self.names
        problems = []
        for path, role, expr in self.expressions():
            for name in sorted(expr.names):
                if name not in known:
                    close = difflib.get_close_matches(name, known, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else " (define it under 'parameters')"
                    problems.append(f"{path}: unknown parameter {name!r}{hint}")
                    continue
                base = self.parameters[name.split(".")[0]]
                want = _ROLES[role][0]
                if expr.text == name and base.kind not in _COMPATIBLE.get(want, {base.kind}) | {"real"}:
                    problems.append(f"{path}: {name!r} is a {base.kind}, but this field needs a {want}")
            constant = expr.constant
            low, high = _ROLES[role][1]
            if constant is not None and not low <= constant <= high:
                problems.append(f"{path}: must be in [{low:g}, {high:g}], got {constant:g}")
        for name, p in self.parameters.items():
            if p.source is not None and p.source not in self.sources:
                problems.append(f"parameters.{name}.source: {p.source!r} is not a key of 'sources'")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def names(self) -> frozenset:
        """Every name an expression may reference (Dirichlet components as ``name.component``)."""
        return parameter_names(self.parameters)

    def expressions(self):
        """Yield (field path, role, expression) for every expression in the file."""
        for key in ("general_population_qalys", "unmet_need"):
            yield f"population.{key}", key, getattr(self.population, key)
        for sname, strategy in self.strategies.items():
            if strategy.cost is not None:
                yield f"strategies.{sname}.cost", "cost", strategy.cost
            yield from _branch_expressions(strategy.branches, f"strategies.{sname}")
        for i, harm in enumerate(self.harms):
            for key in ("probability", "utility_decrement", "duration_years", "onset_years"):
                yield f"harms[{i}].{key}", key, getattr(harm, key)

    @cached_property
    def sha256(self) -> str:
        """Hash of the validated content (stable across formatting of the YAML)."""
        blob = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def _branch_expressions(branches, path):
    for i, b in enumerate(branches):
        here = f"{path}.branches[{i}]"
        if b.probability != COMPLEMENT:
            yield f"{here}.probability", "probability", b.probability
        if b.cost is not None:
            yield f"{here}.cost", "cost", b.cost
        if b.cost_time is not None:
            yield f"{here}.cost_time", "cost_time", b.cost_time
        for j, seg in enumerate(b.segments or ()):
            for key in ("utility", "years", "start", "cost_per_year"):
                expr = getattr(seg, key)
                if expr is not None:
                    yield f"{here}.segments[{j}].{key}", key, expr
        if b.branches:
            yield from _branch_expressions(b.branches, here)


def parameter_names(parameters: dict) -> frozenset:
    """Every name an expression may reference: the parameters, and Dirichlet components as ``name.component``."""
    out = set()
    for name, p in parameters.items():
        out.add(name)
        out.update(f"{name}.{c}" for c in p.components)
    return frozenset(out)


# ----------------------------------------------------------------------------------------------- loading
def _loc(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in DISTRIBUTIONS or part in ("function-after", "function-before"):
            out += f".{part}" if part in DISTRIBUTIONS else ""
        else:
            out += f".{part}" if out else str(part)
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_BOUND_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def _field_range(loc) -> str | None:
    """'[0, 1)' for a bounded field of the models reached along ``loc`` (None if not found)."""
    model, info = ParameterSet, None
    for part in loc:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        model = info.annotation
    bounds = {}
    for m in getattr(info, "metadata", ()):
        for key in ("ge", "gt", "le", "lt"):
            if getattr(m, key, None) is not None:
                bounds[key] = getattr(m, key)
    if not bounds:
        return None
    b = {k: str(v) if isinstance(v, int) else f"{v:g}" for k, v in bounds.items()}
    low = f"[{b['ge']}" if "ge" in b else f"({b['gt']}" if "gt" in b else "(-inf"
    high = f"{b['le']}]" if "le" in b else f"{b['lt']})" if "lt" in b else "inf)"
    return f"{low}, {high}"


def _format_error(error: ValidationError, origin: str) -> ParameterError:
    messages = []
    first_field = None
    for err in error.errors(include_url=False):
        loc = _loc(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "value_error" and ": " in msg and (msg[0] in ".[" or not loc):
            # a validator's message that starts with the path of the offending field (relative to its
            # location, or from the top level for whole-file checks): name that field
            rel, msg = msg.split(": ", 1)
            loc = loc + rel if loc or rel[0] not in "." else rel[1:]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not allowed here; check the spelling)"
        elif err["type"] == "missing":
            msg = "missing required field"
        elif err["type"] in _BOUND_ERRORS:
            span = _field_range(err["loc"])
            msg = f"must be in {span}" if span else msg
        got = err.get("input")
        tail = ""
        if err["type"] not in ("value_error", "missing", "model_type") and not isinstance(got, dict | list):
            tail = f" (got {_short(got)})"
        messages.append(f"{loc or '(top level)'}: {msg}{tail}")
        first_field = first_field or loc
    count = len(messages)
    shown = "; ".join(messages[:5]) + (f"; and {count - 5} more" if count > 5 else "")
    return ParameterError(f"{origin}: {shown}", field=first_field)


def parse_parameters(data: Any, origin: str = "parameters") -> ParameterSet:
    """Validate an already-parsed mapping (e.g. from YAML)."""
    if data is None:
        raise ParameterError(f"{origin}: the file is empty; expected a mapping with 'product', 'strategies', ...")
    if not isinstance(data, dict):
        raise ParameterError(f"{origin}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return ParameterSet.model_validate(data)
    except ValidationError as exc:
        raise _format_error(exc, origin) from None


def load_parameters(path) -> ParameterSet:
    """Read and validate a YAML parameter file.

    Raises
    ------
    ParameterError
        naming the file, the field path, the allowed range and the value received.

    Examples
    --------
    >>> from pathlib import Path
    >>> ps = load_parameters(Path(__file__).parents[1] / "parameters" / "axicabtagene_ciloleucel.yaml")
    >>> ps.product.kind
    'car-t'
    """
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{path}: is a directory, not a parameter file; give a .yaml file", field="path")
    if not path.exists():
        raise ParameterError(f"{path}: no such file", field="path")
    if not path.is_file():
        raise ParameterError(f"{path}: not a regular file; give a .yaml file", field="path")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParameterError(f"{path}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ParameterError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} (offset {exc.start}) "
            "cannot be decoded; save the file as UTF-8",
            field="path",
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise ParameterError(f"{path}: not valid YAML{where}: {problem}") from None
    parameter_set = parse_parameters(data, origin=path.name)
    parameter_set._file_sha256 = hashlib.sha256(raw).hexdigest()
    parameter_set._path = str(path)
    return parameter_set


def json_schema() -> dict:
    """The JSON Schema of the parameter-file format."""
    schema = ParameterSet.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "atmp_hta parameter set"
    return schema


def to_yaml(parameter_set: ParameterSet) -> str:
    """Write a parameter set back as YAML (what a dashboard offers for download); it loads back equal."""
    data = parameter_set.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=False)
    return yaml.safe_dump(expressions_to_text(data), sort_keys=False, allow_unicode=True, width=110)


def expressions_to_text(obj):
    """A ``model_dump(mode="json")`` of a parameter set or model file made writable as YAML: every expression
    (``{"text": ...}``) written back as the number it is, or as its text.

    Examples
    --------
    >>> expressions_to_text({"p": {"text": "0.25"}, "q": [{"text": "1 - p"}], "n": 3})
    {'p': 0.25, 'q': ['1 - p'], 'n': 3}
    """
    if isinstance(obj, dict):
        if set(obj) == {"text"} and isinstance(obj["text"], str):
            return _number_or_text(obj["text"])
        return {k: expressions_to_text(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [expressions_to_text(v) for v in obj]
    return obj


def _number_or_text(text):
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


# ---------------------------------------------------------------------------------------------- sampling
def point_values(parameter_set: ParameterSet) -> dict[str, np.ndarray]:
    """The base case: every parameter at its point value (the mean), as arrays of one draw."""
    out = {}
    for name, p in parameter_set.parameters.items():
        mean = p.mean()
        if isinstance(mean, dict):
            for comp, m in mean.items():
                out[f"{name}.{comp}"] = np.array([m])
        else:
            out[name] = np.array([float(mean)])
    return out


def sample(parameter_set: ParameterSet, n_draws: int, rng=None, names=None) -> dict[str, np.ndarray]:
    """Draw every parameter: a mapping from name to an ndarray of shape (n_draws,).

    ``n_draws == 1`` returns the base case (point values) without touching ``rng``. Each parameter is
    drawn from its own stream, seeded from ``rng`` and the parameter's name, so the same seed gives the same
    bits, and drawing a subset (``names``) gives the same columns as drawing everything (common random
    numbers for tipping points and sliders).

    Examples
    --------
    >>> from pathlib import Path
    >>> ps = load_parameters(Path(__file__).parents[1] / "parameters" / "axicabtagene_ciloleucel.yaml")
    >>> draws = sample(ps, 1000, rng=1)
    >>> draws["u_cure"].shape if "u_cure" in draws else draws["u_remission"].shape
    (1000,)
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
        raise invalid("n_draws", "a whole number >= 1", n_draws, "sample")
    wanted = parameter_set.parameters if names is None else {n: parameter_set.parameters[n] for n in names}
    if n_draws == 1:
        full = point_values(parameter_set)
        return {k: v for k, v in full.items() if k.split(".")[0] in wanted}
    root = int(np.random.default_rng(rng).integers(2**63))
    out = {}
    for name, p in wanted.items():
        if p.value is not None:
            out[name] = np.full(n_draws, p.value)
            continue
        stream = np.random.default_rng([root, zlib.crc32(name.encode())])
        if p.dirichlet is not None:
            comps = p.components
            gammas = stream.standard_gamma(np.array([p.dirichlet[c] for c in comps]), size=(n_draws, len(comps)))
            total = gammas.sum(axis=1)
            for i, comp in enumerate(comps):
                out[f"{name}.{comp}"] = gammas[:, i] / total
        else:
            out[name] = p.spec.draw(stream, n_draws)
    return out


# ----------------------------------------------------------------------------------- moving a parameter
def parameter_range(parameter_set: ParameterSet, name: str) -> tuple[float, float]:
    """Allowed range of a parameter's point value (for sliders and tipping-point searches)."""
    base, _, comp = name.partition(".")
    if base not in parameter_set.parameters or (comp and comp not in parameter_set.parameters[base].components):
        raise invalid("name", f"one of {sorted(parameter_set.names)}", name, "parameter_range")
    return KIND_RANGES[parameter_set.parameters[base].kind]


def with_mean(parameter_set: ParameterSet, name: str, value: float) -> ParameterSet:
    """A copy of ``parameter_set`` with parameter ``name`` centred at ``value``, its precision kept.

    Fixed values are replaced; a beta keeps its total alpha + beta; gamma and lognormal keep their
    coefficient of variation; normal, uniform and triangular shift; ``events`` keep their count; a
    Dirichlet component (``name.component``) takes ``value`` and the other components share the rest in
    their former proportions, with the same total concentration. At the edge of the range (a probability of
    0 or 1) the parameter becomes fixed.
    """
    low, high = parameter_range(parameter_set, name)
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise invalid(name, f"in [{low:g}, {high:g}]", value, "with_mean")
    base, _, comp = name.partition(".")
    p = parameter_set.parameters[base]
    if comp:
        alphas = dict(p.dirichlet)
        total = sum(alphas.values())
        rest = total - alphas[comp]
        share = (1.0 - value) * total
        new = {k: (value * total if k == comp else a / rest * share if rest > 0 else share / (len(alphas) - 1))
               for k, a in alphas.items()}
        floor = 1e-9 * total
        new = {k: max(a, floor) for k, a in new.items()}
        update = {"dirichlet": new}
    else:
        spec = p.spec.with_mean(value) if p.spec is not None else None
        key = next((k for k in DISTRIBUTIONS if getattr(p, k) is not None), None)
        if spec is None or not _within(spec, low, high):
            update = {"value": value, **{k: None for k in DISTRIBUTIONS}}
        else:
            kind = "beta" if isinstance(spec, Beta) else key
            update = {**{k: None for k in DISTRIBUTIONS}, kind: spec}
    fields = {**p.__dict__, **update}
    new_param = Parameter.model_construct(**fields)
    params = {**parameter_set.parameters, base: new_param}
    out = parameter_set.model_copy(update={"parameters": params})
    out.__dict__.pop("sha256", None)
    out._file_sha256 = None
    return out


def _within(spec, low, high):
    s_low, s_high = spec.support()
    return s_low >= low and s_high <= high
