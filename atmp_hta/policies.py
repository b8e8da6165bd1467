"""Policy packs: an HTA agency's reference case and decision rules as validated YAML.

A pack (``parameters/policies/<name>.yaml``) states the discount rates (reference case and the alternatives an
agency allows, with their conditions), the threshold range, the severity scheme and where its weight
applies, and scenarios such as ICER's shared savings for single or short-term therapies. Every rule names a
key of the pack's ``sources`` and the paragraphs it comes from, so a result can cite them.

>>> pack = load_policy("nice")
>>> pack.thresholds.low, pack.thresholds.high, pack.discounting.reference_case.costs
(20000.0, 30000.0, 0.035)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from atmp_hta.exceptions import ParameterError

__all__ = [
    "PolicyPack",
    "load_policy",
    "parse_policy",
    "available_policies",
    "POLICIES_DIR",
]

POLICIES_DIR = Path(__file__).resolve().parents[1] / "parameters" / "policies"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Cited(_Model):
    source: str = Field(min_length=1, description="a key of the pack's sources")
    paragraphs: str | None = Field(None, description="paragraph(s) or section of the source")
    note: str | None = None


class Rates(_Cited):
    costs: float = Field(ge=0.0, lt=1.0, description="annual discount rate for costs")
    effects: float = Field(ge=0.0, lt=1.0, description="annual discount rate for health effects")


class AlternativeRates(Rates):
    name: str = Field(min_length=1)
    conditions: list[str] = Field(default_factory=list, description="all must hold for the alternative to apply")


class Discounting(_Model):
    reference_case: Rates
    alternatives: list[AlternativeRates] = Field(default_factory=list)


class Thresholds(_Cited):
    low: float = Field(gt=0.0)
    high: float = Field(gt=0.0)
    unit: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self


class SeverityLevel(_Model):
    weight: float = Field(gt=1.0, le=10.0)
    proportional_at_least: float = Field(ge=0.0, le=1.0)
    absolute_at_least: float = Field(ge=0.0)


class Severity(_Cited):
    scheme: Literal["nice-2022", "none"]
    applies_to: Literal["qalys", "threshold"]
    levels: list[SeverityLevel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _levels(self):
        weights = [level.weight for level in self.levels]
        if weights != sorted(weights, reverse=True):
            raise ValueError(f"levels must be listed from the highest weight down; got weights {weights}")
        if self.scheme == "none" and self.levels:
            raise ValueError("scheme 'none' takes no levels")
        if self.scheme != "none" and not self.levels:
            raise ValueError(f"scheme '{self.scheme}' needs its levels")
        return self


class Scenario(_Cited):
    name: str = Field(min_length=1)
    kind: Literal["cost_offset_share", "cost_offset_cap"]
    share: float | None = Field(None, ge=0.0, le=1.0, description="share of cost offsets credited")
    cap_per_year: float | None = Field(None, gt=0.0, description="cost offsets credited per patient-year at most")

    @model_validator(mode="after")
    def _fields(self):
        if self.kind == "cost_offset_share" and (self.share is None or self.cap_per_year is not None):
            raise ValueError("a cost_offset_share scenario takes 'share' (and no 'cap_per_year')")
        if self.kind == "cost_offset_cap" and (self.cap_per_year is None or self.share is not None):
            raise ValueError("a cost_offset_cap scenario takes 'cap_per_year' (and no 'share')")
        return self


class PolicyPack(_Model):
    """A validated policy pack (see module docstring)."""

    schema_version: Literal[1]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1)
    jurisdiction: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    effect_unit: str = Field(min_length=1)
    sources: dict[str, str] = Field(min_length=1)
    discounting: Discounting
    thresholds: Thresholds
    severity: Severity
    scenarios: list[Scenario] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cited(self):
        cited = [("discounting.reference_case", self.discounting.reference_case),
                 ("thresholds", self.thresholds), ("severity", self.severity)]
        cited += [(f"discounting.alternatives[{i}]", a) for i, a in enumerate(self.discounting.alternatives)]
        cited += [(f"scenarios[{i}]", s) for i, s in enumerate(self.scenarios)]
        for where, item in cited:
            if item.source not in self.sources:
                raise ValueError(f"{where}.source {item.source!r} is not a key of sources ({', '.join(self.sources)})")
        names = [s.name for s in self.scenarios] + [a.name for a in self.discounting.alternatives]
        if len(set(names)) != len(names):
            raise ValueError(f"scenario and alternative names must be unique; got {names}")
        return self

    def citation(self, item: _Cited) -> str:
        """Full citation of a rule: its source text and paragraphs."""
        where = f", {item.paragraphs}" if item.paragraphs else ""
        return f"{self.sources[item.source]}{where}"

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise ParameterError(
            f"The 'scenario' parameter of PolicyPack.scenario must be one of "
            f"{[s.name for s in self.scenarios]}. Got {name!r}.", field="scenario")


def _format(error: ValidationError, origin: str) -> ParameterError:
    first = error.errors()[0]
    path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in first["loc"]).replace(".[", "[")
    got = first.get("input")
    got_text = "" if isinstance(got, dict) or got is None else f" Got {got!r}."
    message = first["msg"].removeprefix("Value error, ")
    where = f"field '{path}'" if path else "the pack"
    return ParameterError(f"{origin}: {where}: {message}.{got_text}".replace("..", "."), field=path or None)


def parse_policy(data, origin: str = "policy") -> PolicyPack:
    """Validate a policy pack given as a mapping (e.g. parsed YAML)."""
    try:
        return PolicyPack.model_validate(data)
    except ValidationError as exc:
        raise _format(exc, origin) from None


def available_policies() -> list[str]:
    """Names of the packs shipped in ``parameters/policies``."""
    return sorted(p.stem for p in POLICIES_DIR.glob("*.yaml"))


def load_policy(name_or_path) -> PolicyPack:
    """Load a policy pack by name (``"nice"``, ``"icer"``) or from a YAML file path.

    Raises
    ------
    ParameterError
        naming the file, the field path and what is wrong.
    """
    text = str(name_or_path)
    path = Path(text)
    if not text.endswith((".yaml", ".yml")) and path.parent == Path("."):
        path = POLICIES_DIR / f"{text}.yaml"
        if not path.is_file():
            raise ParameterError(
                f"The 'name' parameter of load_policy must be one of {available_policies()} or a YAML path. "
                f"Got {text!r}.", field="name")
    if not path.is_file():
        raise ParameterError(f"{path}: no such file", field="path")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ParameterError(f"{path}: cannot be read as YAML ({exc.__class__.__name__})", field="path") from None
    return parse_policy(data, origin=path.name)
