"""Parametric survival curves, mixture-cure models and partitioned-survival models, vectorised over draws.

Distributions and parameters follow R's **flexsurv** (Jackson 2016), so fitted coefficients can be copied
across (``flexsurvreg(..., dist=)`` reports them on these scales); t is in years:

===============  ====================  =============================================  ========================
name (alias)     parameters            S(t)                                           h(t)
===============  ====================  =============================================  ========================
``exponential``  rate λ                exp(−λt)                                       λ
(``exp``)
``weibull``      shape a, scale b      exp(−(t/b)^a)   (R's ``dweibull``, AFT)         (a/b)(t/b)^(a−1)
``weibull_ph``   shape a, scale m      exp(−m t^a)     (flexsurv ``weibullPH``)        m a t^(a−1)
(``weibullPH``)
``gompertz``     shape a, rate b       exp(−(b/a)(e^(at) − 1)); exp(−bt) at a = 0     b e^(at)
``loglogistic``  shape a, scale b      1 / (1 + (t/b)^a)                              (a/b)(t/b)^(a−1) S(t)
(``llogis``)
``lognormal``    meanlog μ, sdlog σ    1 − Φ((ln t − μ)/σ)                            φ(z)/(σ t S(t))
(``lnorm``)
===============  ====================  =============================================  ========================

A Gompertz shape a < 0 gives a curve that levels off at exp(b/a) (some never die of the modelled cause).

Shapes: every parameter is a number or an array over draws (D,); times are a one-dimensional grid (T,);
curves come back as (D, T), D = 1 when every parameter is a number.

Mixture cure (:func:`mixture_cure_survival`): a fraction π is cured and dies at general-population rates
S*(t) (:func:`atmp_hta.life_tables.general_population_survival`); the uncured follow a parametric curve
S_u(t). With ``uncured="all-cause"`` S_u is all-cause survival, S(t) = π S*(t) + (1 − π) S_u(t), and by
default the uncured hazard is floored at the general-population hazard, cycle by cycle (no one outlives the
population). With ``uncured="excess"`` S_u is relative (excess-hazard) survival,
S(t) = S*(t) (π + (1 − π) S_u(t)) (De Angelis et al. 1999).

Partitioned survival (:func:`partitioned_survival`): three states, progression-free (PFS), progressed
(OS − PFS) and dead (1 − OS). Where extrapolated curves cross, PFS is capped at OS (a progression-free patient
is alive), so OS ≥ PFS holds by construction and every state's share is in [0, 1]. The result has the shape of
a cohort trace, so :func:`atmp_hta.cohort.state_values` turns it into discounted life-years, QALYs and
costs with the same counting and discounting conventions as a Markov model.

References
----------
Jackson C. flexsurv: a platform for parametric survival modeling in R. J Stat Softw 2016;70(8):1-33.
De Angelis R, Capocaccia R, Hakulinen T, Soderman B, Verdecchia A. Mixture models for cancer survival analysis:
application to population-based data with covariates. Stat Med 1999;18:441-54.
Woods B, Sideris E, Palmer S, Latimer N, Soares M. NICE DSU Technical Support Document 19: partitioned
survival analysis for decision modelling in health care, 2017.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from atmp_hta.cohort import cycle_discount_factors, cycle_times
from atmp_hta.discounting import check_timing
from atmp_hta.exceptions import invalid

__all__ = [
    "DISTRIBUTIONS",
    "survival",
    "hazard",
    "cumulative_hazard",
    "cycle_probabilities",
    "restricted_mean_survival",
    "mixture_cure_survival",
    "partitioned_survival",
    "events_per_cycle",
    "event_values",
]

#: parameter names of each distribution, in flexsurv's order
DISTRIBUTIONS = {
    "exponential": ("rate",),
    "weibull": ("shape", "scale"),
    "weibull_ph": ("shape", "scale"),
    "gompertz": ("shape", "rate"),
    "loglogistic": ("shape", "scale"),
    "lognormal": ("meanlog", "sdlog"),
}
_ALIASES = {"exp": "exponential", "weibullPH": "weibull_ph", "llogis": "loglogistic", "lnorm": "lognormal"}
_POSITIVE = {"rate", "scale", "sdlog"}  # gompertz "rate" too; the shapes of all but gompertz are positive


# ------------------------------------------------------------------------------------------------ checks
def _check_distribution(distribution, where):
    name = _ALIASES.get(distribution, distribution)
    if name not in DISTRIBUTIONS:
        allowed = ", ".join(map(repr, list(DISTRIBUTIONS) + list(_ALIASES)))
        raise invalid("distribution", f"one of {allowed}", distribution, where)
    return name


def _check_params(name, params, where):
    expected = DISTRIBUTIONS[name]
    if set(params) != set(expected):
        raise invalid("parameters", f"exactly {', '.join(expected)} for the {name} distribution",
                      sorted(params), where)
    out = {}
    sizes = set()
    for key in expected:
        value = np.asarray(params[key], dtype=float)
        if value.ndim > 1:
            raise invalid(key, "a number or a one-dimensional array over draws", value.shape, where)
        positive = key in _POSITIVE or (key == "shape" and name != "gompertz")
        bad = ~np.isfinite(value) | ((value <= 0) if positive else np.zeros(value.shape, bool))
        if bad.any():
            allowed = "a finite number > 0" if positive else "a finite number"
            raise invalid(key, allowed, float(np.atleast_1d(value)[np.atleast_1d(bad)][0]), where)
        if value.ndim == 1 and value.shape[0] != 1:
            sizes.add(value.shape[0])
        out[key] = value.reshape(-1, 1) if value.ndim == 1 else value.reshape(1, 1)
    if len(sizes) > 1:
        raise invalid("parameters", "arrays with the same number of draws", sorted(sizes), where)
    return out


def _check_times(times, where):
    t = np.asarray(times, dtype=float)
    if t.ndim == 0:
        t = t[None]
    if t.ndim != 1 or np.any(~np.isfinite(t)) or np.any(t < 0):
        raise invalid("times", "a one-dimensional array of finite times >= 0", np.ravel(t)[:5].tolist(), where)
    return t


def _rows(p, curve):
    """Broadcast a kernel result to (D, T)."""
    d = max(v.shape[0] for v in p.values())
    return np.broadcast_to(curve, (d, curve.shape[-1]))


# ----------------------------------------------------------------------------------------------- kernels
def _power(t, base_log, exponent):
    """(t · e^(−base_log))^exponent = exp(exponent · (ln t − base_log)), 0 at t = 0 (exponent > 0).

    One SIMD exponential instead of a power per element; ln t is taken on the (T,) grid only.
    """
    with np.errstate(divide="ignore"):
        log_t = np.log(t)
    x = log_t - base_log
    in_place = x.shape == np.broadcast_shapes(x.shape, np.shape(exponent))
    x = np.multiply(x, exponent, out=x if in_place else None)
    return np.exp(x, out=x)


def _cum_hazard(name, t, p):
    """H(t) = −ln S(t), (D, T) (kernel)."""
    if name == "exponential":
        return p["rate"] * t
    if name == "weibull":
        return _power(t, np.log(p["scale"]), p["shape"])
    if name == "weibull_ph":
        return p["scale"] * _power(t, 0.0, p["shape"])
    if name == "gompertz":
        a, b = p["shape"], p["rate"]
        small = np.abs(a) < 1e-12
        safe_a = np.where(small, 1.0, a)
        return np.where(small, b * t, b / safe_a * np.expm1(safe_a * t))
    if name == "loglogistic":
        return np.log1p(_power(t, np.log(p["scale"]), p["shape"]))
    z = (np.log(np.where(t > 0, t, 1.0)) - p["meanlog"]) / p["sdlog"]
    return np.where(t > 0, -special.log_ndtr(-z), 0.0)


def _hazard(name, t, p):
    """h(t), (D, T) (kernel); at t = 0 the limit (inf for a shape < 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "exponential":
            return p["rate"] * np.ones_like(t)
        if name == "weibull":
            a, b = p["shape"], p["scale"]
            return a / b * (t / b) ** (a - 1)
        if name == "weibull_ph":
            a, m = p["shape"], p["scale"]
            return m * a * t ** (a - 1)
        if name == "gompertz":
            return p["rate"] * np.exp(p["shape"] * t)
        if name == "loglogistic":
            a, b = p["shape"], p["scale"]
            x = (t / b) ** a
            return a / b * (t / b) ** (a - 1) / (1 + x)
        z = (np.log(t) - p["meanlog"]) / p["sdlog"]
        # φ(z) / (σ t (1 − Φ(z))), in logs for the far tail
        log_h = -0.5 * z**2 - 0.5 * np.log(2 * np.pi) - np.log(p["sdlog"] * t) - special.log_ndtr(-z)
        return np.where(t > 0, np.exp(log_h), 0.0)


def survival(distribution: str, times, **params) -> np.ndarray:
    """Survival function S(t) of a parametric distribution (flexsurv parameterisation).

    Parameters
    ----------
    distribution : str
        One of :data:`DISTRIBUTIONS` (or a flexsurv name: ``exp``, ``weibullPH``, ``llogis``, ``lnorm``).
    times : array_like of shape (T,)
        Times in years, >= 0.
    **params : float or ndarray of shape (D,)
        The distribution's parameters by name (module docstring).

    Returns
    -------
    ndarray of shape (D, T)

    Examples
    --------
    >>> survival("weibull", [0, 1, 2], shape=1.0, scale=2.0).round(4)   # = exponential, rate 1/2
    array([[1.    , 0.6065, 0.3679]])
    >>> survival("lognormal", [1.0], meanlog=0.0, sdlog=[0.5, 1.0]).round(3)
    array([[0.5],
           [0.5]])
    """
    where = "survival"
    name = _check_distribution(distribution, where)
    p = _check_params(name, params, where)
    t = _check_times(times, where)
    h = np.array(_rows(p, _cum_hazard(name, t, p)))  # a fresh (D, T) array
    np.negative(h, out=h)
    return np.exp(h, out=h)


def cumulative_hazard(distribution: str, times, **params) -> np.ndarray:
    """Cumulative hazard H(t) = −ln S(t), shape (D, T) (see :func:`survival`).

    Examples
    --------
    >>> cumulative_hazard("exponential", [0, 2], rate=0.3).round(6)
    array([[0. , 0.6]])
    """
    where = "cumulative_hazard"
    name = _check_distribution(distribution, where)
    p = _check_params(name, params, where)
    t = _check_times(times, where)
    return np.array(_rows(p, _cum_hazard(name, t, p)))


def hazard(distribution: str, times, **params) -> np.ndarray:
    """Hazard h(t), shape (D, T) (see :func:`survival`); at t = 0 the limit, inf when it diverges.

    Examples
    --------
    >>> hazard("gompertz", [0, 1], shape=0.1, rate=0.2).round(4)
    array([[0.2  , 0.221]])
    """
    where = "hazard"
    name = _check_distribution(distribution, where)
    p = _check_params(name, params, where)
    t = _check_times(times, where)
    return np.array(_rows(p, _hazard(name, t, p)))


def cycle_probabilities(distribution: str, n_cycles: int, cycle_length: float = 1.0, **params) -> np.ndarray:
    """Probability of the event in cycle k given event-free at its start: 1 − S((k + 1)Δt) / S(kΔt).

    The usual way to put a time-dependent hazard into a Markov model as cycle-indexed transition
    probabilities (time since the start of the model, e.g. revision after a hip replacement).

    Returns
    -------
    ndarray of shape (D, n_cycles)

    Examples
    --------
    >>> cycle_probabilities("exponential", 3, rate=0.1).round(6)   # constant: 1 - exp(-0.1)
    array([[0.095163, 0.095163, 0.095163]])
    """
    where = "cycle_probabilities"
    name = _check_distribution(distribution, where)
    p = _check_params(name, params, where)
    t = cycle_times(n_cycles, cycle_length)
    h = _rows(p, _cum_hazard(name, t, p))
    return -np.expm1(-(h[:, 1:] - h[:, :-1]))


# ------------------------------------------------------------------------------------ restricted mean
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)
_PANELS = 16


def _rmst_numeric(name, horizon, p):
    """∫_0^τ S(t) dt by Gauss-Legendre on panels in u with t = τ u² (kernel; smooths t^a cusps at 0)."""
    edges = np.linspace(0.0, 1.0, _PANELS + 1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    half = 0.5 * (edges[1:] - edges[:-1])
    u = (mid[:, None] + half[:, None] * _GL_NODES[None, :]).ravel()
    w = (half[:, None] * _GL_WEIGHTS[None, :]).ravel()
    tau = horizon.reshape(-1, 1)
    t = tau * u**2  # (D, K)
    s = np.exp(-_cum_hazard(name, t, p))
    return (s * 2.0 * tau * u * w).sum(axis=1)


def _rmst(name, horizon, p):
    """Restricted mean (kernel): closed forms where they exist, else :func:`_rmst_numeric`."""
    tau = horizon.reshape(-1, 1)
    if name == "exponential":
        lam = p["rate"]
        out = -np.expm1(-lam * tau) / lam
    elif name in ("weibull", "weibull_ph"):
        a = p["shape"]
        b = p["scale"] if name == "weibull" else p["scale"] ** (-1.0 / a)
        # ∫_0^τ exp(−(t/b)^a) dt = b Γ(1 + 1/a) P(1/a, (τ/b)^a)
        out = b * special.gamma(1.0 + 1.0 / a) * special.gammainc(1.0 / a, (tau / b) ** a)
    elif name == "lognormal":
        mu, sigma = p["meanlog"], p["sdlog"]
        log_tau = np.log(np.where(tau > 0, tau, 1.0))
        # τ S(τ) + E[T; T < τ] = τ S(τ) + exp(μ + σ²/2) Φ((ln τ − μ − σ²)/σ)
        s_tau = special.ndtr(-(log_tau - mu) / sigma)
        partial = np.exp(mu + sigma**2 / 2) * special.ndtr((log_tau - mu - sigma**2) / sigma)
        out = np.where(tau > 0, tau * s_tau + partial, 0.0)
    else:
        return _rmst_numeric(name, horizon, p)
    return out[:, 0]


def restricted_mean_survival(distribution: str, horizon, **params) -> np.ndarray:
    """Restricted mean survival time ∫_0^τ S(t) dt (undiscounted life-years to the horizon τ).

    Closed forms for the exponential, Weibull and log-normal; 384-point Gauss-Legendre quadrature (after
    t = τu², which smooths the cusp of shapes < 1 at 0) for the Gompertz and log-logistic.

    Parameters
    ----------
    horizon : float or ndarray of shape (D,)
        τ in years, >= 0.

    Returns
    -------
    ndarray of shape (D,)

    Examples
    --------
    >>> restricted_mean_survival("exponential", 10.0, rate=0.2).round(6)   # (1 - e^-2) / 0.2
    array([4.323324])
    """
    where = "restricted_mean_survival"
    name = _check_distribution(distribution, where)
    p = _check_params(name, params, where)
    tau = np.asarray(horizon, dtype=float)
    if tau.ndim > 1 or np.any(~np.isfinite(tau)) or np.any(tau < 0):
        raise invalid("horizon", "a finite time in years >= 0 (or an array over draws)",
                      np.ravel(tau)[:3].tolist(), where)
    d = max([v.shape[0] for v in p.values()] + [tau.size])
    tau = np.broadcast_to(tau.reshape(-1), (d,)) if tau.size in (1, d) else None
    if tau is None:
        raise invalid("horizon", "one value or one per draw", np.size(horizon), where)
    return _rmst(name, np.ascontiguousarray(tau), p)


# -------------------------------------------------------------------------------------- mixture cure
def _check_curve(curve, name, where):
    c = np.asarray(curve, dtype=float)
    if c.ndim == 1:
        c = c[None]
    if c.ndim != 2:
        raise invalid(name, "a survival curve of shape (T,) or (draws, T)", c.shape, where)
    if not (c.min() >= 0.0 and c.max() <= 1.0):  # NaN fails both comparisons
        bad = ~np.isfinite(c) | (c < 0) | (c > 1)
        raise invalid(name, "survival probabilities in [0, 1]", float(c[bad][0]), where)
    if c.shape[1] > 1 and (c[:, 1:] - c[:, :-1]).max() > 1e-12:
        raise invalid(name, "a non-increasing survival curve", "a curve that increases", where)
    return c


def mixture_cure_survival(cure_fraction, uncured, background, *, uncured_model: str = "all-cause",
                          floor_at_background: bool = True) -> np.ndarray:
    """Overall survival of a mixture-cure model on a time grid.

    Parameters
    ----------
    cure_fraction : float or ndarray of shape (D,)
        π in [0, 1].
    uncured : ndarray of shape (T,) or (D, T)
        S_u on the grid (e.g. from :func:`survival`): all-cause or excess survival of the uncured.
    background : ndarray of shape (T,) or (D, T)
        General-population survival S* on the same grid, from time 0 of the model.
    uncured_model : {"all-cause", "excess"}
        How to read ``uncured`` (module docstring).
    floor_at_background : bool
        With ``"all-cause"``: make the uncured hazard at least the general-population hazard in every
        interval of the grid, S_u ← exp(−Σ max(ΔH_u, ΔH*)), so the uncured never outlive the population.

    Returns
    -------
    ndarray of shape (D, T)

    Examples
    --------
    >>> mixture_cure_survival(0.4, [1.0, 0.5, 0.1], [1.0, 0.99, 0.97]).round(4)
    array([[1.   , 0.696, 0.448]])
    """
    where = "mixture_cure_survival"
    if uncured_model not in ("all-cause", "excess"):
        raise invalid("uncured_model", "'all-cause' or 'excess'", uncured_model, where)
    pi = np.asarray(cure_fraction, dtype=float)
    if pi.ndim > 1 or np.any(~np.isfinite(pi)) or np.any((pi < 0) | (pi > 1)):
        raise invalid("cure_fraction", "a probability in [0, 1] (or an array over draws)",
                      float(np.ravel(pi)[0]), where)
    su = _check_curve(uncured, "uncured", where)
    sb = _check_curve(background, "background", where)
    if su.shape[1] != sb.shape[1]:
        raise invalid("background", f"the same time grid as uncured ({su.shape[1]} points)", sb.shape[1], where)
    return _mixture_cure(pi.reshape(-1, 1), su, sb, uncured_model, floor_at_background)


_TINY = 1e-300  # survival below this counts as this in the hazard floor (keeps log finite)


def _mixture_cure(pi, su, sb, model, floor):
    """Kernel of :func:`mixture_cure_survival`; pi (D or 1, 1), curves (D or 1, T)."""
    if model == "excess":
        return sb * (pi + (1.0 - pi) * su)
    if floor:
        d = max(su.shape[0], sb.shape[0])
        neg_hu = np.log(np.maximum(su, _TINY))  # −H_u, (D or 1, T)
        neg_hb_step = np.diff(np.log(np.maximum(sb, _TINY)), axis=1)
        step = np.diff(neg_hu, axis=1)
        step = np.minimum(step, neg_hb_step, out=step if step.shape[0] == d else None)  # −max(ΔH_u, ΔH*)
        np.cumsum(step, axis=1, out=step)
        step += neg_hu[:, :1]
        adjusted = np.empty((d, su.shape[1]))
        adjusted[:, 0] = su[:, 0]
        np.exp(step, out=adjusted[:, 1:])
        su = adjusted
    else:
        su = np.array(su, dtype=float)
    su *= 1.0 - pi
    su += pi * sb
    return su


# -------------------------------------------------------------------------------- partitioned survival
def partitioned_survival(pfs, os) -> np.ndarray:
    """State occupancy of a three-state partitioned-survival model: progression-free, progressed, dead.

    Parameters
    ----------
    pfs, os : ndarray of shape (T,) or (D, T)
        Progression-free and overall survival on the same time grid (e.g. t_j = jΔt, j = 0..n).

    Returns
    -------
    ndarray of shape (D, T, 3)
        Columns PF = min(PFS, OS), PD = OS − PF, dead = 1 − OS: a trace for
        :func:`atmp_hta.cohort.state_values`. PFS is capped at OS where the curves cross, so OS ≥ PFS.

    Examples
    --------
    >>> partitioned_survival([1.0, 0.6, 0.5], [1.0, 0.8, 0.4])[0]
    array([[1. , 0. , 0. ],
           [0.6, 0.2, 0.2],
           [0.4, 0. , 0.6]])
    """
    where = "partitioned_survival"
    p = _check_curve(pfs, "pfs", where)
    o = _check_curve(os, "os", where)
    if p.shape[1] != o.shape[1]:
        raise invalid("os", f"the same time grid as pfs ({p.shape[1]} points)", o.shape[1], where)
    if p.shape[0] != o.shape[0] and 1 not in (p.shape[0], o.shape[0]):
        raise invalid("os", f"{p.shape[0]} draws like pfs (or 1)", o.shape[0], where)
    return _partition(p, o)


def _partition(p, o):
    """Kernel of :func:`partitioned_survival`."""
    shape = np.broadcast_shapes(p.shape, o.shape)
    out = np.empty(shape + (3,))
    np.minimum(p, o, out=out[..., 0])
    np.subtract(o, out[..., 0], out=out[..., 1])
    np.subtract(1.0, o, out=out[..., 2])
    return out


def events_per_cycle(curve) -> np.ndarray:
    """Share of the cohort with the event in each cycle, S(t_k) − S(t_{k+1}) (e.g. deaths from OS).

    Returns
    -------
    ndarray of shape (D, T − 1)

    Examples
    --------
    >>> events_per_cycle([1.0, 0.7, 0.6])
    array([[0.3, 0.1]])
    """
    c = _check_curve(curve, "curve", "events_per_cycle")
    return c[:, :-1] - c[:, 1:]


def event_values(curve, value, *, timing: str, discount_rate=0.0, cycle_length: float = 1.0) -> np.ndarray:
    """Discounted one-off amounts paid on events read off a curve (e.g. end-of-life care on each death).

    Total = Σ_k value · [S(t_k) − S(t_{k+1})] · δ_k, with δ_k the discount factor of cycle k
    (:func:`atmp_hta.cohort.cycle_discount_factors`, ``timing`` "start", "end" or "continuous").

    Parameters
    ----------
    curve : ndarray of shape (T,) or (D, T)
        Survival on the grid t_k = kΔt.
    value : float or ndarray of shape (D,)
        One-off amount per event.

    Returns
    -------
    ndarray of shape (D,)

    Examples
    --------
    >>> event_values([1.0, 0.7, 0.6], 1000.0, timing="end")
    array([400.])
    """
    where = "event_values"
    check_timing(timing, where)
    c = _check_curve(curve, "curve", where)
    v = np.asarray(value, dtype=float)
    if v.ndim > 1 or not np.all(np.isfinite(v)):
        raise invalid("value", "a finite amount (or an array over draws)", np.ravel(v)[:3].tolist(), where)
    delta = cycle_discount_factors(c.shape[1] - 1, discount_rate, timing, cycle_length)
    if delta.shape[0] == 1:
        return (c[:, :-1] @ delta[0] - c[:, 1:] @ delta[0]) * v
    return ((c[:, :-1] - c[:, 1:]) * delta).sum(axis=1) * v
