"""Parameter distributions as written in parameter files.

Each specification knows its mean (the base-case point value), its support, how to draw from a
:class:`numpy.random.Generator`, and how to move its mean to a new value while keeping its precision
(used by sliders and tipping points: "the same evidence, centred elsewhere").

Beta, gamma and lognormal may be given by their natural parameters or by ``mean`` and ``sd`` (method of
moments). ``events`` turns an observed count into a posterior: k events in n patients gives
Beta(k + 1/2, n − k + 1/2) (Jeffreys); k events in T patient-years gives a Gamma(k + 1/2, T) rate, turned
into the probability of at least one event within ``horizon_years``.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, model_serializer, model_validator

__all__ = [
    "KIND_RANGES",
    "Beta",
    "Gamma",
    "LogNormal",
    "Normal",
    "Uniform",
    "Triangular",
    "Events",
    "DISTRIBUTIONS",
]

#: Allowed range of each parameter kind: (low, high), inclusive.
KIND_RANGES: dict[str, tuple[float, float]] = {
    "probability": (0.0, 1.0),
    "fraction": (0.0, 1.0),
    "utility": (-1.0, 1.0),
    "duration": (0.0, math.inf),
    "rate": (0.0, math.inf),
    "qalys": (0.0, math.inf),
    "cost": (0.0, math.inf),
    "count": (0.0, math.inf),
    "real": (-math.inf, math.inf),
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def _derived(self) -> set:
        """Fields computed from the ones given (left out when writing the spec back out)."""
        return set()

    @model_serializer(mode="wrap")
    def _as_given(self, handler):
        # Dump the specification as it was given, so that it validates again (``to_yaml`` round-trips):
        # a beta by mean/sd must not also carry the alpha/beta computed from them.
        data = handler(self)
        drop = self._derived()
        return {k: v for k, v in data.items() if k not in drop} if drop else data

    def support(self) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def sd(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


class Beta(_Spec):
    """Beta(alpha, beta), or by ``mean`` and ``sd`` (requires sd² < mean(1 − mean))."""

    alpha: PositiveFloat | None = None
    beta: PositiveFloat | None = None
    mean_: float | None = Field(None, alias="mean")
    sd_: PositiveFloat | None = Field(None, alias="sd")

    @model_validator(mode="after")
    def _resolve(self):
        natural = self.alpha is not None and self.beta is not None
        moments = self.mean_ is not None and self.sd_ is not None
        if natural == moments:
            raise ValueError("give either 'alpha' and 'beta', or 'mean' and 'sd'")
        if moments:
            m, s = self.mean_, self.sd_
            if not 0.0 < m < 1.0:
                raise ValueError(f"'mean' of a beta must be in (0, 1), got {m}")
            limit = math.sqrt(m * (1 - m))
            if s >= limit:
                raise ValueError(f"'sd' of a beta with mean {m} must be below {limit:.6g}, got {s}")
            common = m * (1 - m) / s**2 - 1.0
            object.__setattr__(self, "alpha", m * common)
            object.__setattr__(self, "beta", (1 - m) * common)
        return self

    def _derived(self):
        return {"alpha", "beta"} if self.mean_ is not None else set()

    def support(self):
        return (0.0, 1.0)

    def mean(self):
        return self.alpha / (self.alpha + self.beta)

    def sd(self):
        a, b = self.alpha, self.beta
        return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))

    def draw(self, rng, n):
        return rng.beta(self.alpha, self.beta, n)

    def with_mean(self, x):
        if not 0.0 < x < 1.0:
            return None
        total = self.alpha + self.beta
        return Beta(alpha=x * total, beta=(1 - x) * total)


class Gamma(_Spec):
    """Gamma(shape, scale) or Gamma(shape, rate), or by ``mean`` and ``sd``."""

    shape: PositiveFloat | None = None
    scale: PositiveFloat | None = None
    rate: PositiveFloat | None = None
    mean_: PositiveFloat | None = Field(None, alias="mean")
    sd_: PositiveFloat | None = Field(None, alias="sd")

    @model_validator(mode="after")
    def _resolve(self):
        moments = self.mean_ is not None and self.sd_ is not None
        natural = self.shape is not None and ((self.scale is None) != (self.rate is None))
        if natural == moments or (moments and (self.shape or self.scale or self.rate)):
            given = [k for k in ("shape", "scale", "rate", "mean_", "sd_") if getattr(self, k) is not None]
            raise ValueError(
                "give 'shape' with one of 'scale'/'rate', or 'mean' and 'sd'; got "
                + (", ".join(repr(k.rstrip("_")) for k in given) or "none")
            )
        if moments:
            object.__setattr__(self, "shape", (self.mean_ / self.sd_) ** 2)
            object.__setattr__(self, "scale", self.sd_**2 / self.mean_)
        elif self.rate is not None:
            object.__setattr__(self, "scale", 1.0 / self.rate)
        return self

    def _derived(self):
        if self.mean_ is not None:
            return {"shape", "scale"}
        return {"scale"} if self.rate is not None else set()

    def support(self):
        return (0.0, math.inf)

    def mean(self):
        return self.shape * self.scale

    def sd(self):
        return math.sqrt(self.shape) * self.scale

    def draw(self, rng, n):
        return rng.gamma(self.shape, self.scale, n)

    def with_mean(self, x):
        return Gamma(shape=self.shape, scale=x / self.shape) if x > 0 else None


class LogNormal(_Spec):
    """Log-normal by ``meanlog``/``sdlog`` (of the logarithm), or by ``mean``/``sd`` on the natural scale."""

    meanlog: float | None = None
    sdlog: PositiveFloat | None = None
    mean_: PositiveFloat | None = Field(None, alias="mean")
    sd_: PositiveFloat | None = Field(None, alias="sd")

    @model_validator(mode="after")
    def _resolve(self):
        natural = self.meanlog is not None and self.sdlog is not None
        moments = self.mean_ is not None and self.sd_ is not None
        if natural == moments:
            raise ValueError("give either 'meanlog' and 'sdlog', or 'mean' and 'sd'")
        if moments:
            s2 = math.log1p((self.sd_ / self.mean_) ** 2)
            object.__setattr__(self, "sdlog", math.sqrt(s2))
            object.__setattr__(self, "meanlog", math.log(self.mean_) - s2 / 2)
        return self

    def _derived(self):
        return {"meanlog", "sdlog"} if self.mean_ is not None else set()

    def support(self):
        return (0.0, math.inf)

    def mean(self):
        return math.exp(self.meanlog + self.sdlog**2 / 2)

    def sd(self):
        return self.mean() * math.sqrt(math.expm1(self.sdlog**2))

    def draw(self, rng, n):
        return rng.lognormal(self.meanlog, self.sdlog, n)

    def with_mean(self, x):
        return LogNormal(meanlog=math.log(x) - self.sdlog**2 / 2, sdlog=self.sdlog) if x > 0 else None


class Normal(_Spec):
    """Normal(mean, sd); unbounded, so only for parameters of kind ``real``."""

    mean_: float = Field(alias="mean")
    sd_: PositiveFloat = Field(alias="sd")

    def support(self):
        return (-math.inf, math.inf)

    def mean(self):
        return self.mean_

    def sd(self):
        return self.sd_

    def draw(self, rng, n):
        return rng.normal(self.mean_, self.sd_, n)

    def with_mean(self, x):
        return Normal(mean=x, sd=self.sd_)


class Uniform(_Spec):
    """Uniform on [low, high]."""

    low: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if not self.low < self.high:
            raise ValueError(f"'low' must be below 'high', got low={self.low}, high={self.high}")
        return self

    def support(self):
        return (self.low, self.high)

    def mean(self):
        return (self.low + self.high) / 2

    def sd(self):
        return (self.high - self.low) / math.sqrt(12)

    def draw(self, rng, n):
        return rng.uniform(self.low, self.high, n)

    def with_mean(self, x):
        shift = x - self.mean()
        return Uniform(low=self.low + shift, high=self.high + shift)


class Triangular(_Spec):
    """Triangular on [low, high] with its peak at ``mode``."""

    low: float
    mode: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError(
                f"need low <= mode <= high and low < high, got low={self.low}, mode={self.mode}, high={self.high}"
            )
        return self

    def support(self):
        return (self.low, self.high)

    def mean(self):
        return (self.low + self.mode + self.high) / 3

    def sd(self):
        a, c, b = self.low, self.mode, self.high
        return math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18)

    def draw(self, rng, n):
        return rng.triangular(self.low, self.mode, self.high, n)

    def with_mean(self, x):
        shift = x - self.mean()
        return Triangular(low=self.low + shift, mode=self.mode + shift, high=self.high + shift)


class Events(_Spec):
    """A probability learnt from observed events.

    ``events`` in ``patients`` → Beta(events + 1/2, patients − events + 1/2).
    ``events`` in ``patient_years`` with ``horizon_years`` → rate λ ~ Gamma(events + 1/2, patient_years),
    probability = 1 − e^(−λ·horizon_years); its mean is 1 − (1 + horizon/patient_years)^(−(events + 1/2)).
    """

    events: int = Field(ge=0)
    patients: int | None = Field(None, gt=0)
    patient_years: PositiveFloat | None = None
    horizon_years: PositiveFloat | None = None

    @model_validator(mode="after")
    def _exposure(self):
        if (self.patients is None) == (self.patient_years is None):
            raise ValueError("give either 'patients' or 'patient_years' (with 'horizon_years')")
        if self.patients is not None:
            if self.events > self.patients:
                raise ValueError(f"'events' must be at most 'patients' ({self.patients}), got {self.events}")
            if self.horizon_years is not None:
                raise ValueError("'horizon_years' goes with 'patient_years', not with 'patients'")
        elif self.horizon_years is None:
            raise ValueError("'patient_years' needs 'horizon_years' to turn a rate into a probability")
        return self

    def support(self):
        return (0.0, 1.0)

    def _gamma(self):
        return self.events + 0.5, self.patient_years  # shape, rate

    def as_beta(self) -> Beta:
        return Beta(alpha=self.events + 0.5, beta=self.patients - self.events + 0.5)

    def mean(self):
        if self.patients is not None:
            return self.as_beta().mean()
        shape, rate = self._gamma()
        return 1.0 - (1.0 + self.horizon_years / rate) ** (-shape)

    def sd(self):
        if self.patients is not None:
            return self.as_beta().sd()
        shape, rate = self._gamma()
        second = 1.0 - 2 * (1.0 + self.horizon_years / rate) ** (-shape) + (
            1.0 + 2 * self.horizon_years / rate
        ) ** (-shape)
        return math.sqrt(max(second - self.mean() ** 2, 0.0))

    def draw(self, rng, n):
        if self.patients is not None:
            return self.as_beta().draw(rng, n)
        shape, rate = self._gamma()
        return -np.expm1(-rng.gamma(shape, 1.0 / rate, n) * self.horizon_years)

    def with_mean(self, x):
        """Same amount of evidence, centred at ``x``: a Beta with the same total, or the same event count
        over the exposure that gives mean ``x``."""
        if not 0.0 < x < 1.0:
            return None
        if self.patients is not None:
            return self.as_beta().with_mean(x)
        shape, _ = self._gamma()
        patient_years = self.horizon_years / ((1.0 - x) ** (-1.0 / shape) - 1.0)
        return Events(events=self.events, patient_years=patient_years, horizon_years=self.horizon_years)


#: Keys accepted in a parameter file, with their specification classes.
DISTRIBUTIONS = {
    "beta": Beta,
    "gamma": Gamma,
    "lognormal": LogNormal,
    "normal": Normal,
    "uniform": Uniform,
    "triangular": Triangular,
    "events": Events,
}
