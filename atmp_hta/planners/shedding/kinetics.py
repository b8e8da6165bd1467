"""Decay of vector DNA in a shedding matrix: Tobit (left-censored) fits on the log10 scale.

Values below the limit of quantification are neither dropped nor replaced by LOQ/2: they enter the
likelihood as the probability of lying below the LOQ. Mono- and bi-exponential decay are supported; the
mono-exponential model can carry between-subject variability (random intercept, or intercept and slope),
integrated out by adaptive Gauss–Hermite quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from atmp_hta.exceptions import ModelError, invalid
from atmp_hta.planners.shedding._checks import number, numbers, shown

__all__ = [
    "DecayFit",
    "fit_decay",
    "tobit_log_likelihood",
    "monoexponential_crossing_time",
    "biexponential_crossing_time",
    "MODELS",
    "BETWEEN_SUBJECT",
]

MODELS = ("mono", "bi")
BETWEEN_SUBJECT = (None, "intercept", "intercept+slope")
LN10 = float(np.log(10.0))
_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


# ----------------------------------------------------------------------------------------------- closed forms


def monoexponential_crossing_time(intercept, slope, threshold):
    """Time at which the line ``intercept + slope · t`` (log10 scale) falls to ``threshold``.

    Returns 0 where the curve starts at or below the threshold and ``inf`` where it never gets there
    (slope >= 0). Vectorised over all arguments.

    Notes
    -----
    t* = (threshold − intercept) / slope for slope < 0 and intercept > threshold.

    Examples
    --------
    >>> float(monoexponential_crossing_time(6.0, -0.5, 2.0))
    8.0
    """
    a, b, L = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (intercept, slope, threshold)))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(b < 0, (L - a) / b, np.inf)
    t = np.where(a <= L, 0.0, t)
    return float(t) if t.ndim == 0 else t


def biexponential_crossing_time(log10_a, alpha, log10_b, beta, threshold):
    """Time at which ``log10(A e^(−αt) + B e^(−βt))`` falls to ``threshold`` (A = 10^log10_a, B = 10^log10_b).

    Vectorised over all arguments; rates must be > 0 (rates are per unit of time on the natural-log scale).

    Notes
    -----
    g(t) = ln(A e^(−αt) + B e^(−βt)) − ln(10^threshold) is decreasing and convex (a log-sum-exp of linear
    functions of t), so the root is unique and bracketed by ln(S/C)/max(α, β) <= t* <= ln(S/C)/min(α, β),
    with S = A + B and C = 10^threshold. Newton's method started at the left end converges monotonically
    (tangents of a convex decreasing function cross zero left of the root); a final bisection-free clip to
    the bracket guards rounding. With α = 2β the root has the closed form
    e^(−βt*) = (−B + sqrt(B² + 4AC)) / (2A), used in the tests.

    Examples
    --------
    >>> t = biexponential_crossing_time(6.0, 0.5, 4.0, 0.05, 2.0)
    >>> round(float(t), 4)
    92.1034
    """
    la, al, lb, be, L = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (log10_a, alpha, log10_b, beta, threshold)))
    la, al, lb, be, L = (x.astype(float, copy=True) for x in (la, al, lb, be, L))
    log_a, log_b, log_c = la * LN10, lb * LN10, L * LN10
    log_s = np.logaddexp(log_a, log_b)
    hi_rate = np.maximum(al, be)
    lo_rate = np.minimum(al, be)
    gap = log_s - log_c
    t = np.where(gap > 0, gap / hi_rate, 0.0)
    upper = np.where(gap > 0, gap / lo_rate, 0.0)
    for _ in range(100):
        ea = log_a - al * t
        eb = log_b - be * t
        g = np.logaddexp(ea, eb) - log_c
        wa = np.exp(ea - np.logaddexp(ea, eb))
        dg = -(wa * al + (1.0 - wa) * be)
        step = np.where(gap > 0, -g / dg, 0.0)
        t = np.minimum(t + step, upper)
        if np.all(np.abs(step) <= 1e-12 * np.maximum(1.0, np.abs(t))):
            break
    t = np.where(gap > 0, t, 0.0)
    return float(t) if t.ndim == 0 else t


# ----------------------------------------------------------------------------------------------- likelihood


def tobit_log_likelihood(mu, log10_values, loq, censored, sigma):
    """Per-observation Tobit log-likelihood on the log10 scale (left-censored at ``loq``).

    Notes
    -----
    Quantified value y: log φ((y − μ)/σ) − log σ. Censored value: log Φ((LOQ − μ)/σ), computed with
    ``scipy.special.log_ndtr`` so deep censoring does not underflow.

    References
    ----------
    Tobin J. Estimation of relationships for limited dependent variables. Econometrica 1958;26:24-36.

    Examples
    --------
    >>> ll = tobit_log_likelihood(mu=[2.0, 2.0], log10_values=[2.0, np.nan], loq=2.0,
    ...                           censored=[False, True], sigma=1.0)
    >>> [round(float(v), 6) for v in ll]  # log φ(0), log Φ(0)
    [-0.918939, -0.693147]
    """
    mu = np.asarray(mu, dtype=float)
    y = np.asarray(log10_values, dtype=float)
    cens = np.asarray(censored, dtype=bool)
    loq = np.broadcast_to(np.asarray(loq, dtype=float), mu.shape)
    z = (np.where(cens, 0.0, y) - mu) / sigma
    w = (loq - mu) / sigma
    return np.where(cens, special.log_ndtr(w), -0.5 * z * z - np.log(sigma) - _HALF_LOG_2PI)


def _tobit_terms(mu, y, loq, cens, sigma):
    """Log-likelihood, d/dμ, d²/dμ², d/dσ per observation."""
    z = (y - mu) / sigma
    # w only where censored: the inverse Mills ratio of a quantified value far above the LOQ would overflow
    # in the branch np.where discards
    w = np.where(cens, (loq - mu) / sigma, 0.0)
    log_cdf = special.log_ndtr(w)
    mills = np.exp(-0.5 * w * w - _HALF_LOG_2PI - log_cdf)  # φ(w)/Φ(w)
    ll = np.where(cens, log_cdf, -0.5 * z * z - np.log(sigma) - _HALF_LOG_2PI)
    d_mu = np.where(cens, -mills / sigma, z / sigma)
    d2_mu = np.where(cens, -mills * (w + mills) / sigma**2, -1.0 / sigma**2)
    d_sigma = np.where(cens, -mills * w / sigma, (z * z - 1.0) / sigma)
    return ll, d_mu, d2_mu, d_sigma


# ----------------------------------------------------------------------------------------------- mean models


def _mono_mean(p, t):
    return p[0] + p[1] * t


def _mono_jac(p, t):
    return np.stack([np.ones_like(t), t], axis=1)


def _bi_mean(p, t):
    la, al, lb, be = p
    return np.logaddexp(la * LN10 - al * t, lb * LN10 - be * t) / LN10


def _bi_jac(p, t):
    la, al, lb, be = p
    ea, eb = la * LN10 - al * t, lb * LN10 - be * t
    wa = np.exp(ea - np.logaddexp(ea, eb))
    wb = 1.0 - wa
    return np.stack([wa, -t * wa / LN10, wb, -t * wb / LN10], axis=1)


# unconstrained <-> natural maps for the fixed-effects fits: natural = mean params + [sigma]
def _exp(x):
    return np.exp(np.clip(x, -30.0, 30.0))


def _mono_to_nat(u):
    return np.array([u[0], u[1], _exp(u[2])])


def _mono_dnat(u):
    return np.array([1.0, 1.0, _exp(u[2])])


def _bi_to_nat(u):
    la, lb, log_delta, log_beta, log_sigma = u
    beta = _exp(log_beta)
    return np.array([la, beta + _exp(log_delta), lb, beta, _exp(log_sigma)])


_NAMES = {
    "mono": ["intercept", "slope", "sigma"],
    "bi": ["log10_a", "alpha", "log10_b", "beta", "sigma"],
}


# ----------------------------------------------------------------------------------------------- result


@dataclass(frozen=True)
class DecayFit:
    """A fitted decay model (see :func:`fit_decay`). Times are in the units of the data (days by convention).

    Attributes
    ----------
    model : {"mono", "bi"}
    intercept : float
        log10 concentration at t = 0 (bi: log10(A + B)).
    slope : float
        log10 change per unit of time (bi: the terminal slope −β / ln 10).
    sigma : float
        Residual standard deviation on the log10 scale.
    half_life : float
        log10(2) / (−slope) (bi: the terminal half-life ln 2 / β); ``inf`` when not decaying.
    standard_errors : dict
        Asymptotic standard errors (inverse observed information) of every estimated parameter and of the
        half-life (delta method); NaN where the information matrix is singular.
    log_likelihood : float
    parameters : dict
        All estimates by name (bi: ``log10_a``, ``alpha``, ``log10_b``, ``beta`` with
        μ(t) = log10(10^log10_a · e^(−αt) + 10^log10_b · e^(−βt)), α > β > 0).
    """

    model: str
    intercept: float
    slope: float
    sigma: float
    half_life: float
    standard_errors: dict
    log_likelihood: float
    parameters: dict
    covariance: np.ndarray = field(repr=False)
    n_observations: int = 0
    n_censored: int = 0
    converged: bool = True
    between_subject: str | None = None
    data: pd.DataFrame = field(default=None, repr=False)

    # bi-exponential parameters (None for mono)
    @property
    def log10_a(self):
        return self.parameters.get("log10_a")

    @property
    def alpha(self):
        return self.parameters.get("alpha")

    @property
    def log10_b(self):
        return self.parameters.get("log10_b")

    @property
    def beta(self):
        return self.parameters.get("beta")

    @property
    def half_lives(self):
        """Bi: (ln 2/α, ln 2/β); mono: (half_life,)."""
        if self.model == "bi":
            return (float(np.log(2) / self.alpha), float(np.log(2) / self.beta))
        return (self.half_life,)

    @property
    def aic(self) -> float:
        return float(2 * len(self.parameters) - 2 * self.log_likelihood)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per parameter: estimate, standard error, Wald 95 % interval."""
        names = list(self.parameters) + ["half_life"]
        est = [self.parameters[n] for n in self.parameters] + [self.half_life]
        se = [self.standard_errors.get(n, np.nan) for n in names]
        z = stats.norm.ppf(0.975)
        return pd.DataFrame({
            "parameter": names, "estimate": est, "standard_error": se,
            "lower_95": np.asarray(est) - z * np.asarray(se), "upper_95": np.asarray(est) + z * np.asarray(se),
        })

    def predict(self, times):
        """Mean (typical-subject) log10 concentration at ``times``."""
        t = np.asarray(times, dtype=float)
        p = self.parameters
        if self.model == "bi":
            return _bi_mean((p["log10_a"], p["alpha"], p["log10_b"], p["beta"]), t)
        return _mono_mean((p["intercept"], p["slope"]), t)

    def time_below(self, threshold, percentile=None):
        """Time at which the mean curve (or the given fraction of subjects) falls below ``threshold`` (log10).

        Parameters
        ----------
        threshold : float
            log10 concentration (e.g. log10 of the LOQ or of the assay LOD in copies/mL).
        percentile : float in (0, 1), optional
            Fraction of subjects whose own (noise-free) curve is below the threshold. Needs a fit with
            ``between_subject``; without it every subject shares the mean curve.

        Notes
        -----
        Mono, random intercept η ~ N(0, ω²): t_q = (L − a − z_q ω) / b.
        Mono, random intercept and slope with correlation ρ: the fraction below at t is
        Φ((L − a − b t) / s(t)), s(t)² = ω_a² + 2ρ ω_a ω_b t + ω_b² t²; t_q solves
        (L − a − b t)² = z_q² s(t)² on the side where L − a − b t has the sign of z_q (a quadratic; ``inf``
        when the fraction never reaches q because too many subjects have a non-negative slope).

        Examples
        --------
        >>> fit = fit_decay([0, 7, 14, 21, 28], [6.1, 4.5, 3.3, 1.8, 1.0], loq=1.5)
        >>> round(fit.time_below(2.0), 1)
        20.1
        """
        where = "DecayFit.time_below"
        L = number(threshold, "threshold", "a finite log10 concentration", where)
        if not np.isfinite(L):
            raise invalid("threshold", "a finite log10 concentration", threshold, where)
        p = self.parameters
        if percentile is None or self.between_subject is None:
            if percentile is not None:
                raise invalid("percentile", "None for a fit without between_subject (refit with "
                              "between_subject='intercept' or 'intercept+slope')", percentile, where)
            if self.model == "bi":
                return biexponential_crossing_time(p["log10_a"], p["alpha"], p["log10_b"], p["beta"], L)
            return monoexponential_crossing_time(p["intercept"], p["slope"], L)
        q = number(percentile, "percentile", "in (0, 1)", where)
        if not 0.0 < q < 1.0:
            raise invalid("percentile", "in (0, 1)", percentile, where)
        return _percentile_crossing(p["intercept"], p["slope"], p.get("omega_intercept", 0.0),
                                    p.get("omega_slope", 0.0), p.get("correlation", 0.0), L, q)

    def curve_frame(self, times=None, n=200):
        """Tidy table ``time, log10_predicted`` of the mean curve (for charts)."""
        if times is None:
            tmax = float(self.data["time"].max()) if self.data is not None else 1.0
            times = np.linspace(0.0, tmax, n)
        t = np.asarray(times, dtype=float)
        return pd.DataFrame({"time": t, "log10_predicted": self.predict(t), "model": self.model})


def _percentile_crossing(a, b, wa, wb, rho, L, q):
    z = float(stats.norm.ppf(q))
    c = L - a
    A = b * b - z * z * wb * wb
    B = -(2.0 * c * b + 2.0 * z * z * rho * wa * wb)
    C = c * c - z * z * wa * wa
    if abs(A) < 1e-14:
        roots = [-C / B] if B != 0 else []
    else:
        disc = B * B - 4 * A * C
        if disc < 0:
            roots = []
        else:
            sq = np.sqrt(disc)
            roots = [(-B - sq) / (2 * A), (-B + sq) / (2 * A)]

    def frac(t):
        s = np.sqrt(max(wa * wa + 2 * rho * wa * wb * t + wb * wb * t * t, 1e-300))
        return stats.norm.cdf((c - b * t) / s)

    if frac(0.0) >= q:
        return 0.0
    ok = [t for t in roots if t >= 0 and (c - b * t) * z >= -1e-12 and abs(frac(t) - q) < 1e-6]
    return float(min(ok)) if ok else float("inf")


# ----------------------------------------------------------------------------------------------- fitting


def fit_decay(times, log10_values, loq, model="mono", censored=None, *, subject=None, between_subject=None,
              quadrature_points=None):
    """Fit exponential decay to log10 concentrations with values below the LOQ left-censored (Tobit).

    Parameters
    ----------
    times : array_like
        Sampling times (>= 0; days by convention). With ``subject``, sorted ascending within each subject;
        without ``subject`` the order is free (observations are exchangeable).
    log10_values : array_like
        log10 concentrations (e.g. log10 copies/mL). Entries flagged ``censored`` are ignored (may be NaN).
    loq : float or array_like
        Limit of quantification on the **same log10 scale** as ``log10_values``; scalar or one per value.
    model : {"mono", "bi"}
        ``"mono"``: μ(t) = intercept + slope · t. ``"bi"``: μ(t) = log10(A e^(−αt) + B e^(−βt)), α > β > 0.
    censored : array_like of bool, optional
        True where the value is below the LOQ. ``None``: censored = ``log10_values < loq`` (then every
        value must be finite).
    subject : array_like, optional
        Subject identifiers (needed for ``between_subject`` and for the within-subject order check; each
        subject must have at least two samples).
    between_subject : {None, "intercept", "intercept+slope"}
        Mono only: normal random effects on the intercept (and slope, correlated), integrated out.
    quadrature_points : int, optional
        Adaptive Gauss–Hermite points per random-effect dimension (default 9 for one, 7 for two).

    Returns
    -------
    DecayFit

    Raises
    ------
    ValueError
        Negative or non-finite times, unsorted times within a subject, a subject with a single sample,
        LOQ above all values (nothing quantified), too few quantified values for the model.
    ModelError
        The optimiser failed, or the quantified values lie exactly on a fitted curve (then σ, the residual
        SD, has no estimate: the likelihood grows without bound as σ → 0); the message lists what to try.

    Notes
    -----
    Log-likelihood (Tobit, left-censored on the log10 scale)::

        ℓ = Σ_quantified [log φ((y − μ)/σ) − log σ] + Σ_censored log Φ((LOQ − μ)/σ)

    maximised by BFGS with analytic gradients in an unconstrained parameterisation (log σ; bi:
    α = β + e^δ, β = e^b so α > β > 0 and the phases cannot swap). Standard errors come from the inverse of
    the observed information (central differences of the analytic score) in the reported parameters.
    The mono half-life is log10(2)/(−slope); the bi-exponential reports the terminal half-life ln 2 / β.

    With between-subject variability the subject's curve is (a + η_a) + (b + η_b) t, η ~ N(0, Ω), and each
    subject's likelihood ∫ Π_j f(y_j | η) φ(η; Ω) dη is computed by adaptive Gauss–Hermite quadrature
    centred at the conditional mode (found by Newton's method, vectorised over subjects).

    References
    ----------
    Tobin J. Estimation of relationships for limited dependent variables. Econometrica 1958;26:24-36.
    Thiébaut R, Jacqmin-Gadda H. Mixed models for longitudinal left-censored repeated measures.
    Comput Methods Programs Biomed 2004;74:255-260.
    Pinheiro JC, Bates DM. Approximations to the log-likelihood function in the nonlinear mixed-effects
    model. J Comput Graph Stat 1995;4:12-35 (adaptive Gauss–Hermite quadrature).
    Lynn HS. Maximum likelihood inference for left-censored HIV RNA data. Stat Med 2001;20:33-45.

    Examples
    --------
    >>> t = [0, 7, 14, 21, 28, 35]
    >>> y = [6.1, 4.9, 3.4, 2.3, np.nan, np.nan]          # last two below the LOQ of 2 log10 copies/mL
    >>> fit = fit_decay(t, y, loq=2.0, censored=[False, False, False, False, True, True])
    >>> round(fit.slope, 3), round(fit.half_life, 2)
    (-0.184, 1.63)
    """
    where = "fit_decay"
    if model not in MODELS:
        raise invalid("model", f"one of {MODELS}", model, where)
    if between_subject not in BETWEEN_SUBJECT:
        raise invalid("between_subject", f"one of {BETWEEN_SUBJECT}", between_subject, where)
    if between_subject is not None and model != "mono":
        raise invalid("between_subject", "None for model='bi' (random effects are implemented for 'mono')",
                      between_subject, where)
    if between_subject is not None and subject is None:
        raise invalid("subject", "given when between_subject is set", None, where)
    t, y, lq, cens, subj = _prepare(times, log10_values, loq, censored, subject, model, where)
    n_cens = int(cens.sum())
    data = pd.DataFrame({"time": t, "log10_value": np.where(cens, np.nan, y), "censored": cens, "loq": lq})
    if subj is not None:
        data.insert(0, "subject", subj)
    common = dict(n_observations=int(t.size), n_censored=n_cens, data=data)
    if between_subject is not None:
        return _fit_mixed(t, y, lq, cens, subj, between_subject, quadrature_points, common)
    if model == "mono":
        return _fit_mono(t, y, lq, cens, common)
    return _fit_bi(t, y, lq, cens, common)


def _prepare(times, values, loq, censored, subject, model, where):
    t = numbers(times, "times", "finite numbers >= 0", where).ravel()
    y = numbers(values, "log10_values", "numbers (log10 concentrations; NaN where censored)", where).ravel()
    if t.size != y.size:
        raise invalid("log10_values", f"the same length as times ({t.size})", f"length {y.size}", where)
    if t.size == 0:
        raise invalid("times", "a non-empty array", [], where)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = t[~np.isfinite(t) | (t < 0)]
        raise invalid("times", "finite numbers >= 0", shown(bad), where)
    lq = numbers(loq, "loq", "finite (log10 scale)", where)
    try:
        lq = np.broadcast_to(lq, t.shape).astype(float)
    except ValueError:
        raise invalid("loq", f"a number or one per value ({t.size})", f"shape {lq.shape}", where) from None
    if not np.all(np.isfinite(lq)):
        raise invalid("loq", "finite (log10 scale)", shown(np.asarray(loq)), where)
    if censored is None:
        if not np.all(np.isfinite(y)):
            raise invalid("log10_values", "finite numbers when censored is None (pass censored= to flag values "
                          "below the LOQ)", shown(y[~np.isfinite(y)]), where)
        cens = y < lq
    else:
        cens = np.asarray(censored).ravel()
        if cens.size != t.size or cens.dtype != bool:
            raise invalid("censored", f"a boolean array of length {t.size}", shown(cens), where)
        if not np.all(np.isfinite(y[~cens])):
            raise invalid("log10_values", "finite where not censored", shown(y[~cens][~np.isfinite(y[~cens])]),
                          where)
    n_mean = 2 if model == "mono" else 4
    n_q = int((~cens).sum())
    if n_q == 0:
        raise invalid("loq", f"below at least {n_mean} of the log10_values (log10 scale; nothing is quantified)",
                      float(lq.max()) if np.ndim(loq) == 0 else shown(np.asarray(loq)), where)
    if n_q < n_mean or np.unique(t[~cens]).size < n_mean:
        raise invalid("log10_values", f"quantified (>= loq) at {n_mean} or more distinct times for model="
                      f"'{model}'", f"{n_q} quantified at {np.unique(t[~cens]).size} distinct times", where)
    subj = None
    if subject is not None:
        subj = np.asarray(subject).ravel()
        if subj.size != t.size:
            raise invalid("subject", f"an array of length {t.size}", f"length {subj.size}", where)
        _check_subject_order(subj, t, where, strict=False, name="times")
    return t, np.where(cens, np.nan, y), lq, cens, subj


def _check_subject_order(subj, t, where, strict, name):
    codes, first = pd.factorize(subj, sort=False)
    counts = np.bincount(codes)
    if np.any(counts < 2):
        s = first[np.argmax(counts < 2)]
        s = s.item() if hasattr(s, "item") else s
        raise invalid("subject", "at least two samples per subject", f"one sample for subject {s!r}", where)
    order = np.argsort(codes, kind="stable")
    ts, cs = t[order], codes[order]
    same = cs[1:] == cs[:-1]
    bad = same & ((ts[1:] <= ts[:-1]) if strict else (ts[1:] < ts[:-1]))
    if np.any(bad):
        c = cs[1:][np.argmax(bad)]
        how = "strictly ascending (no repeated visit times)" if strict else "ascending"
        raise invalid(name, f"sorted {how} within each subject", shown(t[codes == c]), where)
    return codes, first


def _negloglik_fixed(u, t, y, lq, cens, mean, jac, to_nat, chain):
    nat = to_nat(u)
    mp, sigma = nat[:-1], nat[-1]
    mu = mean(mp, t)
    yy = np.where(cens, 0.0, y)
    ll, d_mu, _, d_sigma = _tobit_terms(mu, yy, lq, cens, sigma)
    g_nat = np.concatenate([jac(mp, t).T @ d_mu, [d_sigma.sum()]])
    return -ll.sum(), -chain(u, g_nat)


def _mono_chain(u, g_nat):
    return g_nat * _mono_dnat(u)


def _bi_chain(u, g_nat):
    la, lb, log_delta, log_beta, log_sigma = u
    d_la, d_al, d_lb, d_be, d_s = g_nat
    delta, beta = _exp(log_delta), _exp(log_beta)
    return np.array([d_la, d_lb, d_al * delta, (d_al + d_be) * beta, d_s * _exp(log_sigma)])


def _score_nat(nat, t, y, lq, cens, mean, jac):
    mp, sigma = nat[:-1], nat[-1]
    mu = mean(mp, t)
    _, d_mu, _, d_sigma = _tobit_terms(mu, np.where(cens, 0.0, y), lq, cens, sigma)
    return np.concatenate([jac(mp, t).T @ d_mu, [d_sigma.sum()]])


@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def _information(score, nat):
    """Observed information by central differences of the analytic score."""
    k = nat.size
    H = np.empty((k, k))
    for i in range(k):
        h = 1e-5 * max(abs(nat[i]), 1e-2)
        e = np.zeros(k)
        e[i] = h
        H[:, i] = -(score(nat + e) - score(nat - e)) / (2 * h)
    return 0.5 * (H + H.T)


def _covariance(info):
    try:
        cov = np.linalg.inv(info)
        ok = np.all(np.linalg.eigvalsh(info) > 0) and np.all(np.isfinite(cov))
    except np.linalg.LinAlgError:
        ok = False
    if not ok:
        return np.full(info.shape, np.nan), False
    return cov, True


def _converged(score, cov, ok):
    """Information positive definite and the score small on the scale of the standard errors."""
    return bool(ok and np.max(np.abs(score) * np.sqrt(np.diag(cov))) < 1e-3)


def _minimise(fun, x0, args, jac=True):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = optimize.minimize(fun, x0, args=args, jac=jac, method="BFGS",
                                options={"gtol": 1e-8, "maxiter": 2000})
    if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
        raise ModelError("fit_decay did not converge (non-finite likelihood). Try: check the log10 scale of "
                         "log10_values and loq, rescale times (days vs years), or use model='mono'.")
    return res


def _refuse_exact_fit(sigma, y, cens, call):
    """An exact fit has no maximum likelihood: σ → 0 and the likelihood grows without bound."""
    yq = y[~cens]
    if sigma <= 1e-6 * max(1.0, float(np.max(np.abs(yq)))):
        raise ModelError(
            f"fit_decay({call}) cannot estimate sigma: the quantified log10_values lie exactly on the "
            f"fitted curve (residual SD {sigma:.1e} log10 on {yq.size} values), so the likelihood has no maximum "
            "and no standard errors exist. Try: check that log10_values are measurements, not model "
            "predictions or one profile copied; for noise-free simulated data add the sample-to-sample "
            "noise; if the curve is known exactly, use monoexponential_crossing_time or "
            "biexponential_crossing_time with its parameters instead of fitting.")


def _start_mono(t, y, cens):
    ok = ~cens
    b, a = np.polyfit(t[ok], y[ok], 1)
    resid = y[ok] - (a + b * t[ok])
    s = max(np.sqrt(np.mean(resid**2)), 0.05)
    return np.array([a, b, np.log(s)])


def _fit_mono(t, y, lq, cens, common):
    args = (t, y, lq, cens, _mono_mean, _mono_jac, _mono_to_nat, _mono_chain)
    res = _minimise(_negloglik_fixed, _start_mono(t, y, cens), args)
    nat = _mono_to_nat(res.x)
    _refuse_exact_fit(nat[-1], y, cens, "model='mono'")
    info = _information(lambda p: _score_nat(p, t, y, lq, cens, _mono_mean, _mono_jac), nat)
    cov, ok = _covariance(info)
    score = _score_nat(nat, t, y, lq, cens, _mono_mean, _mono_jac)
    return _build_mono(nat, cov, -res.fun, _converged(score, cov, ok), None, _NAMES["mono"], common)


def _build_mono(nat, cov, ll, converged, between, names, common):
    a, b, sigma = nat[0], nat[1], nat[2]
    se = dict(zip(names, np.sqrt(np.diag(cov)), strict=True))
    half = float(np.log10(2) / -b) if b < 0 else float("inf")
    i_b = names.index("slope")
    se["half_life"] = float(np.log10(2) / b**2 * np.sqrt(cov[i_b, i_b])) if b < 0 else float("nan")
    params = {n: float(v) for n, v in zip(names, nat, strict=True)}
    return DecayFit(model="mono", intercept=float(a), slope=float(b), sigma=float(sigma), half_life=half,
                    standard_errors={k: float(v) for k, v in se.items()}, log_likelihood=float(ll),
                    parameters=params, covariance=cov, converged=bool(converged), between_subject=between,
                    **common)


def _fit_bi(t, y, lq, cens, common):
    a0, b0, ls0 = _start_mono(t, y, cens)
    # terminal phase from the later half of the quantified data
    ok = ~cens
    late = ok & (t >= np.median(t[ok]))
    if late.sum() >= 2 and np.unique(t[late]).size >= 2:
        bt, at = np.polyfit(t[late], y[late], 1)
    else:
        bt, at = b0, a0
    beta0 = max(-bt * LN10, 1e-4, -b0 * LN10 * 0.1)
    lb0 = min(at, a0)
    args = (t, y, lq, cens, _bi_mean, _bi_jac, _bi_to_nat, _bi_chain)
    best = None
    for ratio in (3.0, 10.0, 30.0, 100.0):
        for la0 in (a0, a0 + 0.5):
            u0 = np.array([la0, lb0, np.log(beta0 * (ratio - 1.0)), np.log(beta0), ls0])
            try:
                res = _minimise(_negloglik_fixed, u0, args)
            except ModelError:
                continue
            if best is None or res.fun < best.fun:
                best = res
    if best is None:
        raise ModelError("fit_decay(model='bi') did not converge from any start. Try: model='mono', more "
                         "quantified samples in the early phase, or times in days.")
    nat = _bi_to_nat(best.x)
    _refuse_exact_fit(nat[-1], y, cens, "model='bi'")
    info = _information(lambda p: _score_nat(p, t, y, lq, cens, _bi_mean, _bi_jac), nat)
    cov, ok_cov = _covariance(info)
    ok_cov = _converged(_score_nat(nat, t, y, lq, cens, _bi_mean, _bi_jac), cov, ok_cov)
    names = _NAMES["bi"]
    se = {n: float(v) for n, v in zip(names, np.sqrt(np.diag(cov)), strict=True)}
    la, al, lb, be, sigma = nat
    se["half_life"] = float(np.log(2) / be**2 * se["beta"])
    params = {n: float(v) for n, v in zip(names, nat, strict=True)}
    return DecayFit(model="bi", intercept=float(np.logaddexp(la * LN10, lb * LN10) / LN10),
                    slope=float(-be / LN10), sigma=float(sigma), half_life=float(np.log(2) / be),
                    standard_errors=se, log_likelihood=float(-best.fun), parameters=params, covariance=cov,
                    converged=bool(ok_cov), **common)


# ----------------------------------------------------------------------------------------------- mixed model


def _gh_nodes(q, n):
    x, w = np.polynomial.hermite.hermgauss(n)
    if q == 1:
        return x[:, None], np.log(w)
    X = np.array(np.meshgrid(x, x, indexing="ij")).reshape(2, -1).T
    W = np.add.outer(np.log(w), np.log(w)).ravel()
    return X, W


class _MixedLikelihood:
    """Marginal Tobit likelihood of the mono model with normal random effects (AGQ over subjects)."""

    def __init__(self, t, y, lq, cens, codes, q, n_points):
        order = np.argsort(codes, kind="stable")  # rows grouped by subject: sums are np.add.reduceat
        t, y, lq, cens, codes = t[order], y[order], lq[order], cens[order], codes[order]
        self.t, self.y, self.lq, self.cens, self.codes, self.q = t, np.where(cens, 0.0, y), lq, cens, codes, q
        self.n_subj = int(codes.max()) + 1
        self.starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        self.Z = np.ones((t.size, 1)) if q == 1 else np.stack([np.ones_like(t), t], axis=1)
        self.nodes, self.log_w = _gh_nodes(q, n_points)
        self._eta = np.zeros((self.n_subj, q))

    def _sum(self, v):
        return np.add.reduceat(v, self.starts, axis=0)

    def unpack(self, nat):
        a, b, sigma = nat[:3]
        if self.q == 1:
            omega = np.array([[nat[3] ** 2]])
        else:
            wa, wb, rho = nat[3], nat[4], nat[5]
            omega = np.array([[wa * wa, rho * wa * wb], [rho * wa * wb, wb * wb]])
        return a, b, sigma, omega

    def log_likelihood(self, nat):
        a, b, sigma, omega = self.unpack(nat)
        if sigma <= 0 or np.any(np.diag(omega) <= 0):
            return -np.inf
        try:
            omega_inv = np.linalg.inv(omega)
            _, logdet_omega = np.linalg.slogdet(omega)
        except np.linalg.LinAlgError:
            return -np.inf
        if not np.isfinite(logdet_omega) or np.linalg.det(omega) <= 0:
            return -np.inf
        q, Z, codes = self.q, self.Z, self.codes
        base = a + b * self.t
        eta = self._eta.copy()  # warm start at the previous modes (converged to 1e-10, so history-free)
        for _ in range(100):  # Newton for the conditional modes, all subjects at once
            mu = base + np.sum(Z * eta[codes], axis=1)
            _, d_mu, d2_mu, _ = _tobit_terms(mu, self.y, self.lq, self.cens, sigma)
            grad = np.stack([self._sum(d_mu * Z[:, k]) for k in range(q)], axis=1) - eta @ omega_inv
            hess = np.empty((self.n_subj, q, q))
            for k in range(q):
                for m in range(q):
                    hess[:, k, m] = self._sum(d2_mu * Z[:, k] * Z[:, m]) - omega_inv[k, m]
            step = np.linalg.solve(-hess, grad[..., None])[..., 0]
            eta = eta + step
            if np.max(np.abs(step)) < 1e-10:
                break
        if np.all(np.isfinite(eta)):
            self._eta = eta
        else:
            self._eta = np.zeros_like(eta)
            return -np.inf
        mu = base + np.sum(Z * eta[codes], axis=1)
        _, _, d2_mu, _ = _tobit_terms(mu, self.y, self.lq, self.cens, sigma)
        hess = np.empty((self.n_subj, q, q))
        for k in range(q):
            for m in range(q):
                hess[:, k, m] = self._sum(d2_mu * Z[:, k] * Z[:, m]) - omega_inv[k, m]
        cov_post = np.linalg.inv(-hess)
        chol = np.linalg.cholesky(cov_post)                      # (S, q, q)
        log_det_c = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        # nodes: eta_k = mode + sqrt(2) C x_k
        etas = eta[:, None, :] + np.sqrt(2.0) * (chol[:, None, :, :] @ self.nodes[None, :, :, None])[..., 0]
        mu_k = base[:, None] + etas[codes, :, 0]                                            # (n, K)
        if q == 2:
            mu_k += self.t[:, None] * etas[codes, :, 1]
        ll_obs = tobit_log_likelihood(mu_k, self.y[:, None], self.lq[:, None], self.cens[:, None], sigma)
        ll_subj = self._sum(ll_obs)
        quad = np.sum((etas @ omega_inv) * etas, axis=2)
        log_prior = -0.5 * quad - 0.5 * logdet_omega - q * _HALF_LOG_2PI
        xx = np.sum(self.nodes**2, axis=1)
        terms = ll_subj + log_prior + xx[None, :] + self.log_w[None, :]
        log_li = special.logsumexp(terms, axis=1) + 0.5 * q * np.log(2.0) + log_det_c
        return float(log_li.sum())


def _fit_mixed(t, y, lq, cens, subj, between, n_points, common):
    codes, _ = pd.factorize(subj, sort=False)
    q = 1 if between == "intercept" else 2
    n_points = int(n_points) if n_points is not None else (9 if q == 1 else 7)
    lik = _MixedLikelihood(t, y, lq, cens, codes, q, n_points)
    a0, b0, ls0 = _start_mono(t, y, cens)
    if q == 1:
        names = ["intercept", "slope", "sigma", "omega_intercept"]

        def to_nat(u):
            return np.array([u[0], u[1], np.exp(u[2]), np.exp(u[3])])
        u0 = np.array([a0, b0, ls0 - 0.3, ls0 - 0.3])
    else:
        names = ["intercept", "slope", "sigma", "omega_intercept", "omega_slope", "correlation"]

        def to_nat(u):
            return np.array([u[0], u[1], np.exp(u[2]), np.exp(u[3]), np.exp(u[4]), np.tanh(u[5])])
        u0 = np.array([a0, b0, ls0 - 0.3, ls0 - 0.3, np.log(max(abs(b0) * 0.2, 1e-3)), 0.0])

    def fun(u):
        v = lik.log_likelihood(to_nat(u))
        return -v if np.isfinite(v) else 1e300

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = optimize.minimize(fun, u0, method="BFGS", options={"gtol": 1e-4, "maxiter": 500})
        # BFGS on a quadrature likelihood with finite-difference gradients often stops with "precision
        # loss" at the optimum; polish with Nelder-Mead only if the gradient is not already small
        if not res.success and not (np.all(np.isfinite(res.jac)) and np.max(np.abs(res.jac)) < 1e-2):
            res2 = optimize.minimize(fun, res.x, method="Nelder-Mead",
                                     options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 1500})
            res = res2 if res2.fun < res.fun else res
    if not np.isfinite(res.fun) or res.fun >= 1e299:
        raise ModelError("fit_decay(between_subject=...) did not converge. Try: between_subject='intercept', "
                         "more samples per subject, or check that loq is on the log10 scale.")
    nat = to_nat(res.x)
    _refuse_exact_fit(nat[2], y, cens, f"between_subject={between!r}")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        info = _numeric_hessian(lambda p: -lik.log_likelihood(p), nat)
    cov, ok = _covariance(info)
    fit = _build_mono(nat, cov, -res.fun, ok, between, names, common)
    return fit


def _numeric_hessian(f, x):
    k = x.size
    h = 1e-4 * np.maximum(np.abs(x), 1e-2)
    H = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        for j in range(i, k):
            ei = np.zeros(k)
            ej = np.zeros(k)
            ei[i] = h[i]
            ej[j] = h[j]
            if i == j:
                H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
            else:
                H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                    4 * h[i] * h[j])
    return H
