"""Value of information: EVPI, EVPPI by non-parametric regression, and population EVPI.

Every function takes per-draw net benefits of each option (an array of shape draws × options, draws on
axis 0) and, for EVPPI, the sampled values of the parameters of interest; it knows nothing of the model
that produced them.

EVPPI follows Strong, Oakley & Brennan (2014): the incremental net benefit of each option against the first
is regressed on the parameter(s) of interest; the fitted values estimate E[INB | θ], and

    EVPPI = mean_i max_j ĝ_j(θ_i) − max_j mean_i ĝ_j(θ_i)       (with ĝ_0 ≡ 0 for the reference option).

The regression is a generalised-additive-model-like penalised regression spline: a cubic B-spline basis
with knots at quantiles and the exact ∫ f''(x)² penalty (one parameter), a tensor product of such bases
(two or three parameters), or additive splines plus pairwise bilinear interactions (four or more). The
smoothing parameter is chosen by generalised cross-validation, as mgcv's ``gam`` does by default. A
parameter with few distinct values (≤ 20, e.g. a scenario switch) is handled exactly by group means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg
from scipy.interpolate import BSpline

from atmp_hta.discounting import check_timing, discount_factors
from atmp_hta.exceptions import invalid

__all__ = [
    "evpi",
    "probability_best",
    "evppi",
    "evppi_table",
    "EvppiResult",
    "population_evpi",
    "PopulationValue",
]

_DISCRETE_MAX = 20  # at most this many distinct values: exact group means instead of a spline
_SINGLE_BASIS = 10  # B-spline basis size for one parameter (mgcv's default k for s())
_TENSOR_BASIS = {2: 5, 3: 4}  # per-margin basis size for tensor products (mgcv te() uses 5)
_ADDITIVE_BASIS = 6  # per-parameter basis size for groups of four or more
_RHO_GRID = np.logspace(-9, 3, 49)  # smoothing parameters relative to tr(X'X)/tr(S)
_SE_CHUNK = 50  # coefficient draws evaluated at once when estimating the standard error
_SE_ROWS = 20_000  # draws on which each coefficient draw's EVPPI is evaluated for the standard error


# ------------------------------------------------------------------------------------------------ EVPI
def _check(values, where, name="net_benefit"):
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise invalid(name, "a 2-d array (draws × options)", f"shape {values.shape}", where)
    if not np.all(np.isfinite(values)):
        raise invalid(name, "finite numbers", "an array with NaN or inf", where)
    return values


def evpi(net_benefit) -> float:
    """Expected value of perfect information: E[max_j NB_j] − max_j E[NB_j].

    Parameters
    ----------
    net_benefit : array_like, shape (n_draws, n_options)
        Net benefit of each option in each draw (QALYs, or money at a threshold).

    Returns
    -------
    float
        Per decision (multiply by the number of patients affected for the population value); >= 0.

    References
    ----------
    Claxton K. The irrelevance of inference. J Health Econ 1999;18:341–64.
    Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation. OUP 2006, ch. 6.

    Examples
    --------
    >>> evpi([[1.0, 0.0], [-1.0, 0.0]])  # approve-vs-reject, net value ±1: perfect information gains 0.5
    0.5
    """
    values = _check(net_benefit, "evpi")
    return float(max(values.max(axis=1).mean() - values.mean(axis=0).max(), 0.0))


def probability_best(net_benefit) -> np.ndarray:
    """Share of draws in which each option has the highest net benefit (ties split evenly).

    Examples
    --------
    >>> probability_best([[1.0, 0.0], [-1.0, 0.0], [2.0, 0.0]]).round(3).tolist()
    [0.667, 0.333]
    """
    values = _check(net_benefit, "probability_best")
    best = values == values.max(axis=1, keepdims=True)
    return (best / best.sum(axis=1, keepdims=True)).mean(axis=0)


# ----------------------------------------------------------------------------------------------- EVPPI
@dataclass(frozen=True)
class EvppiResult:
    """EVPPI of one parameter or one group of parameters.

    Attributes
    ----------
    value : float
        EVPPI per decision, in the units of the net benefit.
    standard_error : float
        Standard error of the regression approximation (NaN if not computed): the spread of the EVPPI over
        draws of the regression coefficients from their approximate posterior, as in Strong et al. (2014)
        and voi's ``se=TRUE``.
    parameters : tuple of str
        Names of the parameters in the group.
    method : str
        ``"spline"``, ``"tensor-spline"``, ``"additive-spline"`` or ``"group-means"``.
    edf : tuple of float
        Effective degrees of freedom of each fitted incremental net benefit (one per non-reference option).
    n_draws : int
    monte_carlo_error : float
        Standard error from the finite PSA sample with the fitted regression held fixed: the standard
        deviation of the per-draw opportunity loss divided by √n. Independent of ``standard_error``; for the
        total uncertainty combine them as √(se² + mc²).
    """

    value: float
    standard_error: float
    parameters: tuple
    method: str
    edf: tuple = field(default=())
    n_draws: int = 0
    monte_carlo_error: float = float("nan")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "parameters": [" + ".join(self.parameters)],
                "n_parameters": [len(self.parameters)],
                "evppi": [self.value],
                "standard_error": [self.standard_error],
                "monte_carlo_error": [self.monte_carlo_error],
                "method": [self.method],
                "edf": [float(np.sum(self.edf)) if self.edf else np.nan],
                "n_draws": [self.n_draws],
            }
        )

    def __float__(self) -> float:
        return float(self.value)


def _parameter_matrix(parameters, n, where):
    """Normalise ``parameters`` to (names, 2-d array n × p)."""
    if isinstance(parameters, pd.Series):
        names, values = [str(parameters.name or "parameter")], parameters.to_numpy(dtype=float)[:, None]
    elif isinstance(parameters, pd.DataFrame):
        names, values = [str(c) for c in parameters.columns], parameters.to_numpy(dtype=float)
    elif isinstance(parameters, Mapping):
        if not parameters:
            raise invalid("parameters", "at least one parameter", "an empty mapping", where)
        names = [str(k) for k in parameters]
        try:
            cols = [np.asarray(v, dtype=float) for v in parameters.values()]
        except (TypeError, ValueError):
            raise invalid("parameters", "arrays of numbers", "a non-numeric value", where) from None
        bad = [k for k, c in zip(names, cols, strict=True) if c.shape != (n,)]
        if bad:
            got = np.shape(parameters[list(parameters)[names.index(bad[0])]])
            raise invalid("parameters", f"arrays of shape ({n},) (one value per draw)",
                          f"'{bad[0]}' with shape {got}", where)
        values = np.column_stack(cols)
    else:
        try:
            values = np.asarray(parameters, dtype=float)
        except (TypeError, ValueError):
            raise invalid("parameters", "an array of numbers", type(parameters).__name__, where) from None
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise invalid("parameters", "a 1-d (draws) or 2-d (draws × parameters) array",
                          f"shape {values.shape}", where)
        names = ["parameter"] if values.shape[1] == 1 else [f"parameter_{i + 1}" for i in range(values.shape[1])]
    if values.shape[0] != n:
        raise invalid("parameters", f"{n} draws (as many as net_benefit)", f"{values.shape[0]} draws", where)
    if values.shape[1] == 0:
        raise invalid("parameters", "at least one parameter", "none", where)
    if not np.all(np.isfinite(values)):
        raise invalid("parameters", "finite numbers", "an array with NaN or inf", where)
    return names, values


def _bspline_basis(x, size):
    """Cubic B-spline basis (n × size) on x scaled to [0, 1], knots at quantiles, and its ∫f''² penalty."""
    lo, hi = x.min(), x.max()
    u = (x - lo) / (hi - lo)
    n_interior = max(size - 4, 0)
    interior = np.quantile(u, np.linspace(0, 1, n_interior + 2)[1:-1]) if n_interior else np.empty(0)
    interior = np.unique(interior[(interior > 1e-9) & (interior < 1 - 1e-9)])
    knots = np.concatenate([np.zeros(4), interior, np.ones(4)])
    basis = BSpline.design_matrix(np.clip(u, 0.0, 1.0), knots, 3).toarray()
    k = basis.shape[1]
    # exact ∫ B_i'' B_j'': B'' is linear on each knot span, so 2-point Gauss-Legendre per span is exact
    edges = np.unique(knots)
    gauss, weights = np.polynomial.legendre.leggauss(2)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    points = (mid[:, None] + half[:, None] * gauss).ravel()
    w = (half[:, None] * weights).ravel()
    second = np.column_stack([BSpline(knots, np.eye(k)[i], 3).derivative(2)(points) for i in range(k)])
    penalty = second.T @ (second * w[:, None])
    return basis, penalty


def _discrete_codes(values):
    """One integer code per distinct row if the group takes at most _DISCRETE_MAX distinct values, else None."""
    codes = np.zeros(values.shape[0], dtype=np.int64)
    for j in range(values.shape[1]):
        column = values[:, j]
        # a cheap look at a few draws first: most continuous parameters are rejected without a full sort
        if np.unique(column[:1_000]).size > _DISCRETE_MAX:
            return None
        levels, inverse = np.unique(column, return_inverse=True)
        if levels.size > _DISCRETE_MAX:
            return None
        codes = codes * levels.size + inverse
    return codes if np.unique(codes).size <= _DISCRETE_MAX else None


def _design(values, names):
    """Design matrix, penalty matrix (None for no penalty) and method name for a parameter group."""
    n, p = values.shape
    # exact conditional means when the group takes few distinct values
    codes = _discrete_codes(values)
    if codes is not None:
        levels, inverse = np.unique(codes, return_inverse=True)
        design = np.zeros((n, levels.size))
        design[np.arange(n), inverse] = 1.0
        return design, None, "group-means"
    keep = [j for j in range(p) if np.ptp(values[:, j]) > 0]
    values = values[:, keep]
    p = values.shape[1]
    if p == 1:
        basis, penalty = _bspline_basis(values[:, 0], _SINGLE_BASIS)
        return basis, penalty, "spline"
    if p in _TENSOR_BASIS:
        margins = [_bspline_basis(values[:, j], _TENSOR_BASIS[p]) for j in range(p)]
        design = margins[0][0]
        for basis, _ in margins[1:]:
            design = (design[:, :, None] * basis[:, None, :]).reshape(n, -1)
        sizes = [b.shape[1] for b, _ in margins]
        penalty = np.zeros((design.shape[1],) * 2)
        for j, (_, s) in enumerate(margins):
            term = np.ones((1, 1))
            for i, size in enumerate(sizes):
                term = np.kron(term, s / np.linalg.norm(s) if i == j else np.eye(size))
            penalty += term
        return design, penalty, "tensor-spline"
    # additive splines (one column of each margin dropped: the intercept is shared) + bilinear interactions
    blocks, penalties = [np.ones((n, 1))], [np.zeros((1, 1))]
    for j in range(p):
        basis, s = _bspline_basis(values[:, j], _ADDITIVE_BASIS)
        blocks.append(basis[:, 1:])
        penalties.append(s[1:, 1:] / np.linalg.norm(s[1:, 1:]))
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    rows, cols = np.triu_indices(p, 1)
    blocks.append(z[:, rows] * z[:, cols])
    penalties.append(np.zeros((rows.size, rows.size)))
    return np.hstack(blocks), linalg.block_diag(*penalties), "additive-spline"


def _fit(design, penalty, y):
    """Penalised least squares with the smoothing parameter chosen by GCV, separately for each column of y.

    Returns fitted values (n × m), per-column (coefficient covariance, edf).
    """
    n, k = design.shape
    xtx = design.T @ design
    xty = design.T @ y
    yty = np.einsum("ij,ij->j", y, y)
    jitter = 1e-10 * np.trace(xtx) / k * np.eye(k)
    if penalty is None:  # indicator design: X'X is diagonal with the group sizes, no smoothing
        lambdas = np.zeros(1)
        penalty = jitter = np.zeros((k, k))
    else:
        lambdas = _RHO_GRID * np.trace(xtx) / max(np.trace(penalty), 1e-300)
    best = [None] * y.shape[1]
    for lam in lambdas:
        a = xtx + lam * penalty + jitter
        try:
            factor = linalg.cho_factor(a, check_finite=False)
        except linalg.LinAlgError:
            continue
        coef = linalg.cho_solve(factor, xty, check_finite=False)
        a_inv_xtx = linalg.cho_solve(factor, xtx, check_finite=False)
        edf = float(np.trace(a_inv_xtx))
        rss = np.maximum(yty - 2 * np.einsum("ij,ij->j", coef, xty) + np.einsum("ij,ij->j", coef, xtx @ coef),
                         0.0)
        gcv = n * rss / max(n - edf, 1.0) ** 2
        for j in range(y.shape[1]):
            if best[j] is None or gcv[j] < best[j][0]:
                best[j] = (gcv[j], coef[:, j], rss[j], edf, factor)
    fitted = np.empty_like(y)
    posterior = []
    for j, (_, coef, rss, edf, factor) in enumerate(best):
        fitted[:, j] = design @ coef
        sigma2 = rss / max(n - edf, 1.0)
        posterior.append((sigma2 * linalg.cho_solve(factor, np.eye(k), check_finite=False), edf))
    return fitted, posterior


def _evppi_from_fit(fitted, means):
    """EVPPI and its Monte Carlo standard error from fitted incremental net benefits (n × m, centred).

    EVPPI is the mean over draws of the loss max(0, max_j ĝ_j) − ĝ_j* of the currently optimal option j*
    (ĝ_0 ≡ 0), so its Monte Carlo standard error is sd(loss)/√n.
    """
    g = fitted + means
    current = int(np.argmax(np.concatenate([[0.0], g.mean(axis=0)])))
    loss = np.maximum(g.max(axis=1), 0.0) - (g[:, current - 1] if current else 0.0)
    return float(loss.mean()), float(loss.std(ddof=1) / np.sqrt(loss.size))


def evppi(net_benefit, parameters, *, se: bool = True, n_se_draws: int = 200, rng=None) -> EvppiResult:
    """Expected value of partial perfect information about one parameter or a group, by regression.

    Parameters
    ----------
    net_benefit : array_like, shape (n_draws, n_options)
        Net benefit of each option in each draw of a probabilistic sensitivity analysis (n_draws >= 50).
    parameters : array_like (n_draws,) or (n_draws, p), pandas Series/DataFrame, or mapping name -> array
        The sampled values of the parameter(s) of interest, aligned with the rows of ``net_benefit``. Two or
        more columns give the EVPPI of the group (learning all of them at once).
    se : bool
        Estimate the standard error of the regression approximation.
    n_se_draws : int
        Draws of the regression coefficients used for the standard error (>= 10).
    rng : int, numpy.random.Generator or None
        For the standard-error draws only; the EVPPI itself is deterministic.

    Returns
    -------
    EvppiResult
        ``value``, ``standard_error`` (of the regression approximation), ``monte_carlo_error`` (of the finite
        PSA sample), ``parameters``, ``method``, ``edf``; ``.to_frame()`` gives one row.

    Notes
    -----
    With INB_j = NB_j − NB_0 and ĝ_j(θ) its penalised-spline regression on θ (module docstring),
    EVPPI = (1/N) Σ_i max(0, max_j ĝ_j(θ_i)) − max(0, max_j (1/N) Σ_i ĝ_j(θ_i)).
    The estimate is biased slightly upwards when θ explains almost none of the net benefit (the fit then
    chases noise); GCV keeps that bias small, and the standard error shows its size.

    The standard error draws the regression coefficients of each incremental net benefit from their
    approximate posterior N(β̂, σ̂²(X'X + λS)⁻¹) (mgcv's Bayesian covariance, which voi's ``se=TRUE`` uses),
    recomputes the EVPPI for each draw, and reports their standard deviation. Above 20,000 PSA draws each
    recomputation uses one fixed random subsample of 20,000 of them, which changes the standard error by a
    few per cent at most and keeps it cheap.

    References
    ----------
    Strong M, Oakley JE, Brennan A. Estimating multiparameter partial expected value of perfect information
    from a probabilistic sensitivity analysis sample: a nonparametric regression approach. Med Decis Making
    2014;34(3):311–326.
    Wood SN. Generalized Additive Models: an introduction with R, 2nd ed. CRC 2017 (penalised regression
    splines, GCV).
    Jackson C et al. voi: Expected Value of Information, R package (https://chjackson.github.io/voi/).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> p1, p2 = rng.normal(1, 1, 20_000), rng.normal(0, 2, 20_000)
    >>> nb = np.column_stack([np.zeros(20_000), p1 - p2])
    >>> round(evppi(nb, p1, se=False).value, 2)  # exact: Φ(1) + φ(1) − 1 = 0.083
    0.08
    """
    where = "evppi"
    values = _check(net_benefit, where)
    n = values.shape[0]
    if n < 50:
        raise invalid("net_benefit", "at least 50 draws", f"{n} draws", where)
    names, theta = _parameter_matrix(parameters, n, where)
    if isinstance(n_se_draws, bool) or not isinstance(n_se_draws, (int, np.integer)) or n_se_draws < 10:
        raise invalid("n_se_draws", "an integer >= 10", n_se_draws, where)
    return _evppi_kernel(values, names, theta, se, int(n_se_draws), rng)


def _evppi_kernel(values, names, theta, se, n_se_draws, rng):
    n = values.shape[0]
    if values.shape[1] == 1:
        return EvppiResult(0.0, 0.0 if se else np.nan, tuple(names), "single-option", (0.0,), n, 0.0)
    inb = values[:, 1:] - values[:, :1]
    means = inb.mean(axis=0)
    y = inb - means
    design, penalty, method = _design(theta, names)
    fitted, posterior = _fit(design, penalty, y)
    value, mc_error = _evppi_from_fit(fitted, means)
    value = max(value, 0.0)
    edf = tuple(float(e) for _, e in posterior)
    error = np.nan
    if se:
        gen = np.random.default_rng(rng)
        rows = slice(None)
        if n > _SE_ROWS:  # the same fixed subsample for every coefficient draw (see evppi Notes)
            rows = np.sort(gen.choice(n, _SE_ROWS, replace=False))
        design_s, centre = design[rows], (fitted + means)[rows]
        roots = []
        for cov, _ in posterior:
            w, v = np.linalg.eigh((cov + cov.T) / 2)
            roots.append(v * np.sqrt(np.clip(w, 0.0, None)))
        draws = []
        for start in range(0, n_se_draws, _SE_CHUNK):
            b = min(_SE_CHUNK, n_se_draws - start)
            best = np.zeros((centre.shape[0], b))
            current = np.zeros(b)
            for j, root in enumerate(roots):
                g = design_s @ (root @ gen.standard_normal((root.shape[1], b)))
                g += centre[:, j:j + 1]
                np.maximum(best, g, out=best)
                np.maximum(current, g.mean(axis=0), out=current)
            draws.append(best.mean(axis=0) - current)
        error = float(np.std(np.concatenate(draws), ddof=1))
    return EvppiResult(float(value), error, tuple(names), method, edf, n, mc_error)


def evppi_table(net_benefit, draws: Mapping, groups=None, *, se: bool = True, n_se_draws: int = 200,
                rng=None) -> pd.DataFrame:
    """EVPPI of several parameters or groups in one tidy table.

    Parameters
    ----------
    net_benefit : array_like, shape (n_draws, n_options)
    draws : mapping name -> array of shape (n_draws,)
        Sampled parameter values (e.g. from :func:`atmp_hta.params.sample`).
    groups : sequence of str or sequence of str, optional
        Each item a parameter name (single-parameter EVPPI) or a list of names (group EVPPI). Default:
        every parameter in ``draws`` on its own.
    se, n_se_draws, rng
        As in :func:`evppi`; the standard-error draws of all groups come from one generator.

    Returns
    -------
    DataFrame
        Columns ``parameters, n_parameters, evppi, standard_error, monte_carlo_error, method, edf, n_draws,
        evpi, share_of_evpi``, in the order of ``groups``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> d = {"a": rng.normal(size=2_000), "b": rng.normal(size=2_000)}
    >>> nb = np.column_stack([np.zeros(2_000), d["a"] + 0.1 * d["b"]])
    >>> evppi_table(nb, d, se=False).parameters.tolist()
    ['a', 'b']
    """
    where = "evppi_table"
    values = _check(net_benefit, where)
    if not isinstance(draws, Mapping) or not draws:
        raise invalid("draws", "a non-empty mapping of parameter name to draws", type(draws).__name__, where)
    if groups is None:
        groups = list(draws)
    gen = np.random.default_rng(rng)
    total = evpi(values)
    rows = []
    for group in groups:
        members = [group] if isinstance(group, str) else list(group)
        unknown = [m for m in members if m not in draws]
        if unknown:
            raise invalid("groups", f"names of parameters in draws ({', '.join(map(str, draws))})",
                          unknown[0], where)
        result = evppi(values, {m: draws[m] for m in members}, se=se, n_se_draws=n_se_draws, rng=gen)
        rows.append(result.to_frame())
    table = pd.concat(rows, ignore_index=True)
    table["evpi"] = total
    table["share_of_evpi"] = table["evppi"] / total if total > 0 else np.nan
    return table


# ------------------------------------------------------------------------------------- population EVPI
@dataclass(frozen=True)
class PopulationValue:
    """Population value of information over a decision horizon, with the conventions that produced it.

    ``value = per_person × effective_population``, where the effective population is the discounted number of
    patients who benefit from the decision: prevalent patients now plus each year's incident patients.
    """

    value: float
    per_person: float
    effective_population: float
    horizon_years: int
    discount_rate: float
    timing: str
    prevalent: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.__dict__])

    def __float__(self) -> float:
        return float(self.value)

    @property
    def conventions(self) -> str:
        return (f"{self.horizon_years}-year horizon, incidence discounted at {self.discount_rate:.1%} per year "
                f"(timing '{self.timing}'), {self.prevalent:g} prevalent patients at time 0")


def population_evpi(per_person, incidence, horizon_years: int, discount_rate, timing: str,
                    prevalent: float = 0.0) -> PopulationValue:
    """Population EVPI (or EVPPI): per-decision value times the discounted number of patients affected.

    Parameters
    ----------
    per_person : float
        EVPI or EVPPI per patient (e.g. :func:`evpi`), >= 0.
    incidence : float or 1-d array_like
        New patients per year: a constant, or one value per year of the horizon.
    horizon_years : int
        Years over which the decision applies (the technology's expected life), >= 1.
    discount_rate : float
        Annual rate in [0, 1).
    timing : {"start", "end", "continuous"}
        When in each year the incident cohort is counted (see :mod:`atmp_hta.discounting`); no default.
    prevalent : float
        Patients already eligible at time 0 (counted undiscounted), >= 0.

    Returns
    -------
    PopulationValue

    Notes
    -----
    Population EVPI = EVPI · [P₀ + Σ_{t=0}^{T−1} I_t · D(t)], with D the discount factor of
    :func:`atmp_hta.discounting.discount_factors` (D(t) = (1 + r)^−t for ``"start"``, (1 + r)^−(t+1) for
    ``"end"``).

    References
    ----------
    Philips Z, Claxton K, Palmer S. The half-life of truth: what are appropriate time horizons for research
    decisions? Med Decis Making 2008;28:287–99.
    Fenwick E et al. Value of Information Analysis for Research Decisions—An Introduction: Report 1 of the
    ISPOR Value of Information Analysis Emerging Good Practices Task Force. Value Health 2020;23:139–50.

    Examples
    --------
    >>> r = population_evpi(100.0, 1_000, 10, 0.035, "end")
    >>> round(r.effective_population, 1), round(r.value)   # 1,000 × annuity factor 8.3166
    (8316.6, 831661)
    """
    where = "population_evpi"
    check_timing(timing, where)
    per_person = float(per_person)
    if not np.isfinite(per_person) or per_person < 0:
        raise invalid("per_person", "a finite number >= 0", per_person, where)
    if isinstance(horizon_years, bool) or not isinstance(horizon_years, (int, np.integer)) or horizon_years < 1:
        raise invalid("horizon_years", "an integer >= 1", horizon_years, where)
    rate = float(discount_rate)
    if not np.isfinite(rate) or not 0.0 <= rate < 1.0:
        raise invalid("discount_rate", "in [0, 1)", discount_rate, where)
    incidence = np.asarray(incidence, dtype=float)
    if incidence.ndim == 0:
        incidence = np.full(int(horizon_years), float(incidence))
    if incidence.ndim != 1 or incidence.size != horizon_years:
        raise invalid("incidence", f"a number or {horizon_years} yearly values", f"shape {incidence.shape}", where)
    bad = ~np.isfinite(incidence) | (incidence < 0)
    if np.any(bad):
        raise invalid("incidence", "finite numbers >= 0", float(incidence[bad][0]), where)
    prevalent = float(prevalent)
    if not np.isfinite(prevalent) or prevalent < 0:
        raise invalid("prevalent", "a finite number >= 0", prevalent, where)
    effective = prevalent + float(np.sum(incidence * discount_factors(np.arange(horizon_years), rate, timing)))
    return PopulationValue(per_person * effective, per_person, effective, int(horizon_years), rate, timing,
                           prevalent)
