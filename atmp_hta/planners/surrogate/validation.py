"""Surrogate-endpoint validation: single-trial criteria and the two-stage meta-analytic approach.

Follows the definitions of the R package *Surrogate* (Van der Elst, Meyvisch, Alonso, Ensor, Weir &
Molenberghs): ``Prentice``, ``Single.Trial.RE.AA`` (relative effect and adjusted association, on all patients
as one trial), ``UnifixedContCont`` (two-stage fixed effects: per-trial treatment effects, then a weighted or
unweighted regression across trials) and ``BifixedContCont`` (its delta-method CI of the individual-level R²),
plus Freedman's proportion explained and the surrogate threshold effect of Burzykowski & Buyse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from atmp_hta.exceptions import invalid
from atmp_hta.planners.surrogate._checks import check_choice, check_probability_open

__all__ = ["Estimate", "PrenticeResult", "SurrogateValidation", "validate_surrogate", "load_armd"]

_ARMD = Path(__file__).resolve().parents[2] / "data" / "armd.csv"


def load_armd():
    """The ARMD trial (181 patients, 36 centres) as shipped with the R package Surrogate.

    Columns ``Id, Center, Treat (−1 placebo, +1 interferon-α), Diff24 (surrogate), Diff52 (true endpoint)``;
    see ``atmp_hta/data/README.md`` for its source.

    Examples
    --------
    >>> load_armd().shape
    (181, 5)
    """
    return pd.read_csv(_ARMD)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its standard error and confidence interval.

    An unbounded confidence set (Fieller's, when the denominator is not significantly different from 0) has
    infinite limits, ``ci_lower = -inf`` and ``ci_upper = inf``, and its ``method`` starts with
    "unbounded (Fieller)" and says which set it is. NaN limits mean that no interval is reported; ``method``
    says why (the surrogate threshold effect).
    """

    name: str
    estimate: float
    se: float = float("nan")
    ci_lower: float = float("nan")
    ci_upper: float = float("nan")
    method: str = ""

    @property
    def ci(self):
        return (self.ci_lower, self.ci_upper)

    def to_dict(self):
        return {
            "measure": self.name,
            "estimate": self.estimate,
            "se": self.se,
            "ci_lower": self.ci_lower,
            "ci_upper": self.ci_upper,
            "method": self.method,
        }


@dataclass(frozen=True)
class PrenticeResult:
    """The four Prentice models: coefficients (``model, term, estimate, se, t, p_value``) and verdict."""

    coefficients: pd.DataFrame
    passed: bool
    alpha: float

    def to_frame(self):
        return self.coefficients.copy()


@dataclass(frozen=True)
class SurrogateValidation:
    """Result of :func:`validate_surrogate`; ``to_frame()`` gives one tidy row per measure."""

    prentice: PrenticeResult
    proportion_explained: Estimate
    relative_effect: Estimate
    relative_effect_fieller: Estimate
    adjusted_association: Estimate
    r2_trial: Estimate
    r2_individual: Estimate
    surrogate_threshold_effect: Estimate
    trials: pd.DataFrame = field(repr=False)
    stage2_coefficients: tuple = ()
    model: str = "full"
    weighted: bool = True
    n_patients: int = 0
    n_trials: int = 0
    alpha: float = 0.05

    def to_frame(self):
        rows = [
            e.to_dict()
            for e in (
                self.proportion_explained,
                self.relative_effect,
                self.relative_effect_fieller,
                self.adjusted_association,
                self.r2_trial,
                self.r2_individual,
                self.surrogate_threshold_effect,
            )
        ]
        out = pd.DataFrame(rows)
        out["model"] = self.model
        out["weighted"] = self.weighted
        out["n_patients"] = self.n_patients
        out["n_trials"] = self.n_trials
        return out


def _prepare(data, surrogate, true, treatment, trial, min_trial_size, where):
    for name, col in (("surrogate", surrogate), ("true", true), ("treatment", treatment), ("trial", trial)):
        if col not in data.columns:
            raise invalid(name, f"a column of data ({list(map(str, data.columns))})", col, where)
    df = pd.DataFrame(
        {
            "S": pd.to_numeric(data[surrogate], errors="coerce"),
            "T": pd.to_numeric(data[true], errors="coerce"),
            "Z": pd.to_numeric(data[treatment], errors="coerce"),
            "trial": data[trial].to_numpy(),
        }
    ).dropna()
    levels = sorted(df["Z"].unique().tolist())
    if levels not in ([-1.0, 1.0], [0.0, 1.0]):
        raise invalid("treatment", "coded -1/1 or 0/1 with both arms present", levels, where)
    df = df.sort_values("trial", kind="stable").reset_index(drop=True)
    return df, levels


def _multi_trial_subset(df, min_trial_size):
    """Trials kept by Surrogate's Data.Processing: both arms, varying S and T, at least min_trial_size."""
    g = df.groupby("trial", sort=True)
    both = g["Z"].nunique() == 2
    varying = (g["S"].var(ddof=1).fillna(0) > 0) & (g["T"].var(ddof=1).fillna(0) > 0)
    big = g.size() >= min_trial_size
    keep = both[both & varying & big].index
    return df[df["trial"].isin(keep)].reset_index(drop=True)


def _ols(y, x):
    """OLS with model-based covariance; returns coef, cov, residuals, df_resid, sigma2."""
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dfr = x.shape[0] - np.linalg.matrix_rank(x)
    sigma2 = resid @ resid / dfr
    xtx_inv = np.linalg.pinv(x.T @ x)
    return coef, sigma2 * xtx_inv, resid, dfr, sigma2, xtx_inv


def _coef_rows(model, terms, coef, cov, dfr):
    se = np.sqrt(np.diag(cov))
    t = coef / se
    return [
        {
            "model": model,
            "term": term,
            "estimate": float(c),
            "se": float(s),
            "t": float(tt),
            "p_value": float(2 * stats.t.sf(abs(tt), dfr)),
        }
        for term, c, s, tt in zip(terms, coef, se, t, strict=True)
    ]


def _fisher_ci(r, n, alpha):
    z = np.arctanh(r)
    h = stats.norm.isf(alpha / 2) / np.sqrt(n - 3)
    return float(np.tanh(z - h)), float(np.tanh(z + h))


def _r2_ci(r2, n, alpha):
    se = float(np.sqrt(4 * r2 * (1 - r2) ** 2 / (n - 3)))
    z = stats.norm.isf(alpha / 2)
    return se, max(0.0, r2 - z * se), min(1.0, r2 + z * se)


def _fieller(a, b, var_a, var_b, cov_ab, z, alpha):
    """Fieller's (1 − α) confidence set for ρ = b/a: (lower, upper, method).

    The set is {ρ : (b − ρa)² ≤ z² (var_b − 2ρ cov + ρ² var_a)}, i.e. q(ρ) = A ρ² − 2B ρ + C ≤ 0 with
    A = a² − z² var_a, B = ab − z² cov, C = b² − z² var_b. If A > 0 (a significantly different from 0) it is the
    interval between the roots; otherwise it is unbounded: the complement of the open interval between the
    roots when A < 0 < B² − AC, the whole real line when B² − AC ≤ 0. Unbounded sets get infinite limits.
    """
    qa = a**2 - z**2 * var_a
    qb = a * b - z**2 * cov_ab
    qc = b**2 - z**2 * var_b
    disc = qb**2 - qa * qc
    if qa > 0:  # then q(b/a) ≤ 0 makes disc ≥ 0
        root = np.sqrt(max(disc, 0.0))
        return float((qb - root) / qa), float((qb + root) / qa), "Fieller"
    level = f"{100 * (1 - alpha):g}%"
    why = f"the effect on the surrogate is not significantly different from 0 at the {level} level"
    if qa < 0 and disc > 0:
        r1, r2 = sorted(((qb + np.sqrt(disc)) / qa, (qb - np.sqrt(disc)) / qa))
        return -np.inf, np.inf, f"unbounded (Fieller): (-inf, {r1:.4g}] and [{r2:.4g}, inf); {why}"
    return -np.inf, np.inf, f"unbounded (Fieller): the whole real line; {why}"


def _single_trial(df, alpha):
    n = len(df)
    one = np.ones(n)
    xz = np.column_stack([one, df["Z"]])
    s, t, z = df["S"].to_numpy(), df["T"].to_numpy(), df["Z"].to_numpy()
    a_coef, a_cov, e_s, dfr, _, xtx_inv = _ols(s, xz)
    b_coef, b_cov, e_t, _, _, _ = _ols(t, xz)
    g_coef, g_cov, _, g_df, _, _ = _ols(t, np.column_stack([one, s]))
    bs_coef, bs_cov, _, bs_df, _, _ = _ols(t, np.column_stack([one, z, s]))
    rows = (
        _coef_rows("1: surrogate ~ treatment", ["intercept", "treatment"], a_coef, a_cov, dfr)
        + _coef_rows("2: true ~ treatment", ["intercept", "treatment"], b_coef, b_cov, dfr)
        + _coef_rows("3: true ~ surrogate", ["intercept", "surrogate"], g_coef, g_cov, g_df)
        + _coef_rows(
            "4: true ~ treatment + surrogate", ["intercept", "treatment", "surrogate"], bs_coef, bs_cov, bs_df
        )
    )
    table = pd.DataFrame(rows)
    p = table.set_index(["model", "term"])["p_value"]
    passed = bool(p.iloc[1] < alpha and p.iloc[3] < alpha and p.iloc[5] < alpha and p.iloc[7] > alpha)
    prentice = PrenticeResult(coefficients=table, passed=passed, alpha=alpha)

    a, b = float(a_coef[1]), float(b_coef[1])
    sigma_st = float(e_s @ e_t / dfr)
    var_a, var_b, cov_ab = float(a_cov[1, 1]), float(b_cov[1, 1]), sigma_st * float(xtx_inv[1, 1])
    z_crit = stats.norm.isf(alpha / 2)
    re = b / a
    re_se = float(np.sqrt(var_b / a**2 + b**2 * var_a / a**4 - 2 * b * cov_ab / a**3))
    relative_effect = Estimate(
        "relative_effect", re, re_se, re - z_crit * re_se, re + z_crit * re_se, "delta method"
    )
    lo, hi, how = _fieller(a, b, var_a, var_b, cov_ab, z_crit, alpha)
    fieller = Estimate("relative_effect_fieller", re, re_se, lo, hi, how)

    rho = float(np.corrcoef(e_s, e_t)[0, 1])
    lo_r, hi_r = _fisher_ci(rho, n, alpha)
    aa = Estimate("adjusted_association", rho, float(np.sqrt((1 - rho**2) / (n - 2))), lo_r, hi_r, "Fisher z")

    # Freedman's proportion explained with a sandwich (stacked estimating equations) delta-method CI
    x4 = np.column_stack([one, z, s])
    r2, r4 = e_t, t - x4 @ bs_coef
    psi = np.column_stack([xz * r2[:, None], x4 * r4[:, None]])
    bread = np.zeros((5, 5))
    bread[:2, :2] = xz.T @ xz
    bread[2:, 2:] = x4.T @ x4
    binv = np.linalg.inv(bread)
    sandwich = binv @ (psi.T @ psi) @ binv.T
    beta_s = float(bs_coef[1])
    pe = 1 - beta_s / b
    grad = np.zeros(5)
    grad[1] = beta_s / b**2
    grad[3] = -1 / b
    pe_se = float(np.sqrt(grad @ sandwich @ grad))
    pe_est = Estimate(
        "proportion_explained", pe, pe_se, pe - z_crit * pe_se, pe + z_crit * pe_se, "delta method (sandwich)"
    )
    return prentice, pe_est, relative_effect, fieller, aa


def _stage1(df, model, levels):
    """Per-trial intercepts and treatment effects on S and T, and the residuals (full or reduced model)."""
    trials = np.sort(df["trial"].unique())
    idx = np.searchsorted(trials, df["trial"].to_numpy())
    z = df["Z"].to_numpy()
    n_tr = len(trials)
    onehot = np.zeros((len(df), n_tr))
    onehot[np.arange(len(df)), idx] = 1.0
    if model == "full":
        x = np.hstack([onehot, onehot * z[:, None]])
    else:
        x = np.hstack([np.ones((len(df), 1)), onehot * z[:, None]])
    out = {}
    for end in ("S", "T"):
        coef, *_ = np.linalg.lstsq(x, df[end].to_numpy(), rcond=None)
        out[end] = (coef, df[end].to_numpy() - x @ coef)
    sizes = np.bincount(idx, minlength=n_tr)
    table = pd.DataFrame({"trial": trials, "n": sizes})
    if model == "full":
        table["intercept_surrogate"] = out["S"][0][:n_tr]
        table["intercept_true"] = out["T"][0][:n_tr]
    table["effect_surrogate"] = out["S"][0][-n_tr:]
    table["effect_true"] = out["T"][0][-n_tr:]
    return table, out["S"][1], out["T"][1]


def _stage2(table, model, weighted):
    y = table["effect_true"].to_numpy()
    cols = ["intercept_surrogate", "effect_surrogate"] if model == "full" else ["effect_surrogate"]
    x = np.column_stack([np.ones(len(table))] + [table[c].to_numpy() for c in cols])
    w = table["n"].to_numpy(dtype=float) if weighted else np.ones(len(table))
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)
    fitted = x @ coef
    resid = y - fitted
    rss = float(np.sum(w * resid**2))
    ybar = np.sum(w * y) / np.sum(w)
    tss = float(np.sum(w * (y - ybar) ** 2))
    dfr = len(y) - x.shape[1]
    sigma2 = rss / dfr
    cov = sigma2 * np.linalg.inv((x * w[:, None]).T @ x)
    return coef, cov, sigma2, dfr, 1.0 - rss / tss, fitted, w


def _ste(table, model, coef, cov, sigma2, dfr, w, alpha, benefit):
    """Surrogate threshold effect: α₀ at which the (1 − α) prediction limit of β₀ reaches zero."""
    if model == "full":
        mu_bar = float(np.sum(w * table["intercept_surrogate"]) / np.sum(w))
        c0 = coef[0] + coef[1] * mu_bar
        u = np.array([1.0, mu_bar, 0.0])
        e = np.array([0.0, 0.0, 1.0])
    else:
        c0 = coef[0]
        u = np.array([1.0, 0.0])
        e = np.array([0.0, 1.0])
    lam = coef[-1]
    w0 = float(np.mean(w))
    q = stats.t.isf(alpha / 2, dfr) ** 2
    qa = lam**2 - q * float(e @ cov @ e)
    qb = 2 * (c0 * lam - q * float(u @ cov @ e))
    qc = c0**2 - q * (float(u @ cov @ u) + sigma2 / w0)
    disc = qb**2 - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return float("nan")
    roots = [(-qb - np.sqrt(disc)) / (2 * qa), (-qb + np.sqrt(disc)) / (2 * qa)]
    sign = 1.0 if benefit == "positive" else -1.0
    chosen = [r for r in roots if sign * (c0 + lam * r) > 0]
    return float(chosen[0]) if chosen else float("nan")


def validate_surrogate(
    data,
    surrogate,
    true,
    treatment,
    trial,
    model="full",
    weighted=True,
    alpha=0.05,
    min_trial_size=2,
    benefit="positive",
):
    """Validate a continuous surrogate for a continuous true endpoint on multi-trial (or multi-centre) data.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    surrogate, true, treatment, trial : str
        Column names: surrogate endpoint S, true endpoint T, treatment Z (coded −1/+1 or 0/1) and trial or
        centre.
    model : {"full", "reduced"}
        Stage-1 model: trial-specific intercepts and treatment effects (full) or a common intercept with
        trial-specific treatment effects (reduced); in the full model stage 2 also regresses on the
        surrogate intercepts.
    weighted : bool
        Weight the stage-2 regression by trial size.
    alpha : float
        1 − confidence level, and the level of the Prentice tests.
    min_trial_size : int
        Trials with fewer patients are dropped from the meta-analytic part (as in Surrogate).
    benefit : {"positive", "negative"}
        Direction of a beneficial effect on T, for the surrogate threshold effect.

    Returns
    -------
    SurrogateValidation
        ``prentice``, ``proportion_explained``, ``relative_effect`` (delta CI; ``relative_effect_fieller``
        with Fieller's CI), ``adjusted_association``, ``r2_trial``, ``r2_individual`` and
        ``surrogate_threshold_effect``, each an :class:`Estimate`; ``trials`` holds the stage-1 estimates and
        the stage-2 fitted values.

    Notes
    -----
    *Single trial* (all patients pooled, as Surrogate's ``Prentice`` and ``Single.Trial.RE.AA``):
    S = μ_S + αZ + ε_S, T = μ_T + βZ + ε_T, T = μ + γS + ε, T = μ̃ + β_S Z + γ_Z S + ε̃. Prentice's criteria
    hold when α, β and γ are significant and β_S is not. PE = (β − β_S)/β (Freedman), CI by the delta method
    on a sandwich covariance of (β, β_S). RE = β/α with delta-method and Fieller CIs from the bivariate
    regression (z quantiles, as in Surrogate). Fieller's set is bounded only when α is significantly
    different from 0 at level α; otherwise it is unbounded (the whole line, or two half-lines) and is reported
    with limits −∞ and +∞ and a method "unbounded (Fieller): ..." that says which (Surrogate's
    ``Single.Trial.RE.AA`` returns NaN for the whole line). Adjusted association ρ_Z = corr(ε_S, ε_T),
    Fisher-z CI with n − 3.

    *Two stage*: stage 1 fits S and T by OLS with trial-specific treatment effects α_i, β_i (and intercepts
    μ_Si in the full model); stage 2 regresses β_i on α_i (and μ_Si), weighted by n_i or not.
    R²_trial is its (weighted) coefficient of determination, CI R² ± z √(4R²(1 − R²)²/(N − 3)) with N trials
    (Surrogate's ``UnifixedContCont``). R²_indiv is the squared correlation of the stage-1 residuals, CI by
    the same formula with N patients (Surrogate's ``BifixedContCont``, whose GLS residual covariance gives the
    same point estimate because both endpoints share the design).

    *Surrogate threshold effect*: the α₀ at which the limit of the (1 − α) prediction interval for the effect
    on T in a new trial, λ̂₀ + λ̂₁α₀ ± t_{1−α/2, N−p} √(x₀ᵀ V x₀ + σ̂²/w̄), reaches 0 (lower limit for
    ``benefit="positive"``, upper for ``"negative"``); σ̂²/w̄ is the residual variance of a trial of mean
    weight, and in the full model μ_S0 is the weighted mean of the μ_Si. NaN when the interval never
    excludes 0 (the method says so). No confidence interval is reported for the STE: it is defined through a
    prediction limit that already carries the estimation error of the stage-2 regression. Burzykowski &
    Buyse (2006) define it as a single value, and so do the R packages that compute it (``surrosurv::ste``;
    ``frailtypack``, whose summary gives intervals for Kendall's τ and R²_trial but the STE alone); an
    interval for it would need a further, non-standard construction (e.g. a bootstrap), not attempted here.

    References
    ----------
    Prentice RL. Stat Med 1989;8:431–440. Freedman LS, Graubard BI, Schatzkin A. Stat Med 1992;11:167–178.
    Buyse M, Molenberghs G. Biometrics 1998;54:1014–1029. Buyse M et al. Biostatistics 2000;1:49–67.
    Burzykowski T, Buyse M. Pharm Stat 2006;5:173–186. Alonso A et al. Applied Surrogate Endpoint Evaluation
    Methods with SAS and R. CRC; 2016. Van der Elst W et al. R package Surrogate.

    Examples
    --------
    >>> res = validate_surrogate(load_armd(), "Diff24", "Diff52", "Treat", "Center", model="reduced")
    >>> round(res.r2_trial.estimate, 4), round(res.r2_individual.estimate, 4)
    (0.6585, 0.5318)
    """
    where = "validate_surrogate"
    check_choice("model", model, ("full", "reduced"), where)
    check_choice("benefit", benefit, ("positive", "negative"), where)
    a = float(check_probability_open("alpha", alpha, where))
    if not isinstance(data, pd.DataFrame):
        raise invalid("data", "a pandas DataFrame", type(data).__name__, where)
    df, levels = _prepare(data, surrogate, true, treatment, trial, min_trial_size, where)
    if len(df) < 4:
        raise invalid("data", "at least 4 complete rows", len(df), where)
    prentice, pe, re, fieller, aa = _single_trial(df, a)
    multi = _multi_trial_subset(df, min_trial_size)
    n_trials = int(multi["trial"].nunique())
    n_params = 3 if model == "full" else 2
    if n_trials <= max(3, n_params):
        raise invalid(
            "trial",
            f"more than {max(3, n_params)} usable trials (both arms, varying outcomes)",
            n_trials,
            where,
        )
    table, res_s, res_t = _stage1(multi, model, levels)
    coef, cov, sigma2, dfr, r2t, fitted, w = _stage2(table, model, weighted)
    table["fitted_effect_true"] = fitted
    table["weight"] = w
    se_t, lo_t, hi_t = _r2_ci(r2t, n_trials, a)
    r2_trial = Estimate("r2_trial", float(r2t), se_t, lo_t, hi_t, "delta method, N trials")
    r2i = float(np.corrcoef(res_s, res_t)[0, 1] ** 2)
    se_i, lo_i, hi_i = _r2_ci(r2i, len(multi), a)
    r2_ind = Estimate("r2_individual", r2i, se_i, lo_i, hi_i, "delta method, N patients")
    ste = _ste(table, model, coef, cov, sigma2, dfr, w, a, benefit)
    level = f"{100 * (1 - a):g}%"
    if np.isfinite(ste):
        ste_how = (
            f"prediction limit = 0 ({benefit} benefit); no CI: the STE is itself where a {level} prediction "
            "limit, which includes the estimation error, reaches 0 (Burzykowski & Buyse 2006)"
        )
    else:
        ste_how = (
            f"does not exist ({benefit} benefit): the {level} prediction interval of the effect on the true "
            "endpoint never excludes 0"
        )
    ste_est = Estimate("surrogate_threshold_effect", ste, method=ste_how)
    return SurrogateValidation(
        prentice=prentice,
        proportion_explained=pe,
        relative_effect=re,
        relative_effect_fieller=fieller,
        adjusted_association=aa,
        r2_trial=r2_trial,
        r2_individual=r2_ind,
        surrogate_threshold_effect=ste_est,
        trials=table,
        stage2_coefficients=tuple(float(c) for c in coef),
        model=model,
        weighted=bool(weighted),
        n_patients=len(multi),
        n_trials=n_trials,
        alpha=a,
    )
