"""General-population mortality from a life table: survival, per-cycle death probabilities, life expectancy.

The shipped table, ``atmp_hta/data/uk_life_table_gompertz_2018_2020.csv``, has one row per single year of
age 0-100 and the columns ``age``, ``qx_male``, ``qx_female`` (probability that someone aged exactly x dies
before x + 1). It is **not** the ONS published table: it is a Gompertz law fitted, per sex, to the two
headline figures of the ONS National life tables, UK, 2018 to 2020 (life expectancy at birth 79.0 years for
males and 82.9 for females; at 65, 18.5 and 21.0 years). ``atmp_hta/data/README.md`` gives the source, the
fit and its checks against the bulletin's median and modal ages at death; :func:`gompertz_life_table`
regenerates the file. A table with the same columns (the ONS ``qx`` themselves, say) can be passed as
``table=`` wherever this module takes one.

Conventions
-----------
The force of mortality is constant within each year of age, μ_x = −ln(1 − q_x) on [x, x + 1), and stays at
μ_100 beyond the last age of the table, so the cumulative hazard H is piecewise linear in age and
S(t | a) = exp(−[H(a + t) − H(a)]). A cohort of mixed sex is a mixture of the two survival curves weighted by
the proportion of males at the start age (so the mix changes as the cohort ages). Every function returns its
result with a leading draw axis (length 1 for a scalar start age).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from atmp_hta.exceptions import invalid

__all__ = [
    "LIFE_TABLE_FILE",
    "GOMPERTZ_UK_2018_2020",
    "load_life_table",
    "gompertz_life_table",
    "general_population_survival",
    "background_death_probabilities",
    "life_expectancy",
]

LIFE_TABLE_FILE = "uk_life_table_gompertz_2018_2020.csv"

#: Gompertz hazard μ(x) = alpha · exp(beta · x) (x = age in years), fitted so that life expectancy at birth
#: and at 65 equal the ONS National life tables, UK, 2018 to 2020 (see the module docstring).
GOMPERTZ_UK_2018_2020 = {
    "male": {"alpha": 4.53486e-5, "beta": 0.0886736},
    "female": {"alpha": 2.06805e-5, "beta": 0.0947465},
}

_SEXES = ("male", "female")


def gompertz_life_table(alpha_male: float, beta_male: float, alpha_female: float, beta_female: float,
                        max_age: int = 100, significant: int = 6) -> pd.DataFrame:
    """Single-year q_x of Gompertz laws μ(x) = α e^(βx), rounded to ``significant`` digits.

    Notes
    -----
    q_x = 1 − exp(−(α/β) e^(βx) (e^β − 1)), the probability of dying in [x, x + 1) under the law.

    Examples
    --------
    >>> p = GOMPERTZ_UK_2018_2020
    >>> table = gompertz_life_table(p["male"]["alpha"], p["male"]["beta"], p["female"]["alpha"], p["female"]["beta"])
    >>> table.shape
    (101, 3)
    """
    ages = np.arange(max_age + 1, dtype=float)

    def qx(alpha, beta):
        q = -np.expm1(-(alpha / beta) * np.exp(beta * ages) * np.expm1(beta))
        return np.array([float(f"{v:.{significant}g}") for v in q])

    return pd.DataFrame({"age": ages.astype(int), "qx_male": qx(alpha_male, beta_male),
                         "qx_female": qx(alpha_female, beta_female)})


@lru_cache(maxsize=1)
def _shipped_table() -> pd.DataFrame:
    with resources.files("atmp_hta.data").joinpath(LIFE_TABLE_FILE).open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def load_life_table() -> pd.DataFrame:
    """The shipped table (a copy): columns ``age``, ``qx_male``, ``qx_female``.

    Examples
    --------
    >>> load_life_table().columns.tolist()
    ['age', 'qx_male', 'qx_female']
    """
    return _shipped_table().copy()


def _check_table(table: pd.DataFrame | None, where: str) -> pd.DataFrame:
    if table is None:
        return _shipped_table()
    missing = {"age", "qx_male", "qx_female"} - set(table.columns)
    if missing:
        raise invalid("table", "a DataFrame with columns age, qx_male, qx_female", sorted(missing), where)
    ages = table["age"].to_numpy()
    if len(ages) < 2 or ages[0] != 0 or np.any(np.diff(ages) != 1):
        raise invalid("table", "single years of age 0, 1, 2, ... without gaps", ages[:5].tolist(), where)
    for column in ("qx_male", "qx_female"):
        q = table[column].to_numpy(dtype=float)
        bad = ~np.isfinite(q) | (q < 0) | (q >= 1)
        if bad.any():
            raise invalid(f"table.{column}", "probabilities in [0, 1)", float(q[bad][0]), where)
    return table


def _knots(table: pd.DataFrame, sex: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Integer ages 0..max+1, the cumulative hazard there, and the hazard beyond the table."""
    mu = -np.log1p(-table[f"qx_{sex}"].to_numpy(dtype=float))
    ages = np.arange(len(mu) + 1, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(mu)])
    return ages, cum, float(mu[-1])


def _cum_hazard(age, ages, cum, mu_last):
    """H(age) for the piecewise-constant hazard (kernel)."""
    top = ages[-1]
    inside = np.interp(np.minimum(age, top), ages, cum)
    return inside + mu_last * np.maximum(age - top, 0.0)


def _check_sex(sex, where):
    if isinstance(sex, str):
        if sex not in _SEXES:
            raise invalid("sex", "'male', 'female' or the proportion of males in [0, 1]", sex, where)
        return 1.0 if sex == "male" else 0.0
    share = np.asarray(sex, dtype=float)
    if np.any(~np.isfinite(share)) or np.any((share < 0) | (share > 1)):
        raise invalid("sex", "'male', 'female' or the proportion of males in [0, 1]",
                      float(np.ravel(share)[0]), where)
    return share


def _check_age(start_age, where):
    age = np.asarray(start_age, dtype=float)
    if age.ndim > 1:
        raise invalid("start_age", "a number or a one-dimensional array over draws", age.shape, where)
    if np.any(~np.isfinite(age)) or np.any(age < 0):
        raise invalid("start_age", "a finite age >= 0", float(np.ravel(age)[np.argmax(~(age >= 0))]), where)
    return np.atleast_1d(age)


def _survival(start_age, times, male_share, table):
    """(D, T) general-population survival from ``start_age`` (kernel)."""
    age = start_age[:, None]
    out = 0.0
    for sex, weight in (("male", male_share), ("female", 1.0 - np.asarray(male_share))):
        if np.all(np.asarray(weight) == 0):
            continue
        ages, cum, mu_last = _knots(table, sex)
        log_s = -(_cum_hazard(age + times, ages, cum, mu_last) - _cum_hazard(age, ages, cum, mu_last))
        out = out + np.reshape(weight, (-1, 1)) * np.exp(log_s)
    return np.broadcast_to(out, (start_age.shape[0], times.shape[-1])).copy()


def general_population_survival(start_age, times, sex="male", table: pd.DataFrame | None = None) -> np.ndarray:
    """Probability that someone aged ``start_age`` is alive ``times`` years later.

    Parameters
    ----------
    start_age : float or ndarray of shape (draws,)
        Age at time 0, in years.
    times : array_like of shape (T,)
        Years since time 0, >= 0.
    sex : {"male", "female"} or float or ndarray of shape (draws,)
        One sex, or the proportion of males at ``start_age``.
    table : DataFrame, optional
        A life table with columns ``age``, ``qx_male``, ``qx_female``; the shipped one by default.

    Returns
    -------
    ndarray of shape (draws, T)

    Examples
    --------
    >>> s = general_population_survival(58, [0, 1, 10], sex="male")
    >>> s.shape, float(s[0, 0])
    ((1, 3), 1.0)
    """
    where = "general_population_survival"
    table = _check_table(table, where)
    share = _check_sex(sex, where)
    age = _check_age(start_age, where)
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or np.any(~np.isfinite(times)) or np.any(times < 0):
        raise invalid("times", "a one-dimensional array of finite times >= 0", times.tolist()[:5], where)
    if np.ndim(share) == 1 and age.shape[0] == 1:
        age = np.broadcast_to(age, share.shape)
    return _survival(age, times, share, table)


def background_death_probabilities(start_age, n_cycles: int, sex="male", cycle_length: float = 1.0,
                                   table: pd.DataFrame | None = None) -> np.ndarray:
    """Per-cycle probability of dying of general-population causes, for a cohort alive at the cycle start.

    q_k = 1 − S((k + 1)Δt) / S(kΔt) with S from :func:`general_population_survival`, k = 0..n_cycles − 1.

    Returns
    -------
    ndarray of shape (draws, n_cycles)

    Examples
    --------
    >>> q = background_death_probabilities(60, 3, "female")
    >>> q.shape, bool((q > 0).all() and (q[0, 1:] > q[0, :-1]).all())
    ((1, 3), True)
    """
    where = "background_death_probabilities"
    if not isinstance(n_cycles, (int, np.integer)) or n_cycles < 1:
        raise invalid("n_cycles", "an integer >= 1", n_cycles, where)
    if not np.isfinite(cycle_length) or cycle_length <= 0:
        raise invalid("cycle_length", "a number of years > 0", cycle_length, where)
    s = general_population_survival(start_age, np.arange(n_cycles + 1) * float(cycle_length), sex, table)
    return 1.0 - s[:, 1:] / s[:, :-1]


def life_expectancy(age: float, sex="male", table: pd.DataFrame | None = None) -> float:
    """Period life expectancy at ``age``: ∫ S(t | age) dt over [0, ∞), exact for the piecewise-constant hazard.

    Examples
    --------
    >>> round(life_expectancy(65, "male"), 1)   # ONS 2018-2020: 18.5 (the Gompertz fit's anchor)
    18.5
    """
    where = "life_expectancy"
    table = _check_table(table, where)
    share = float(_check_sex(sex, where))
    age = float(_check_age(age, where)[0])
    total = 0.0
    for s, weight in (("male", share), ("female", 1.0 - share)):
        if weight == 0:
            continue
        ages, cum, mu_last = _knots(table, s)
        mu = np.diff(cum)
        h0 = _cum_hazard(age, ages, cum, mu_last)
        # segments [max(a, age), a + 1) for integer a >= floor(age), within the table
        lo = np.maximum(ages[:-1], age)
        hi = ages[1:]
        keep = hi > age
        lo, hi, m = lo[keep], hi[keep], mu[keep]
        s_lo = np.exp(-(_cum_hazard(lo, ages, cum, mu_last) - h0))
        width = hi - lo
        seg = np.where(m > 0, s_lo * -np.expm1(-m * width) / np.where(m > 0, m, 1.0), s_lo * width)
        top = ages[-1]
        s_top = np.exp(-(_cum_hazard(max(top, age), ages, cum, mu_last) - h0))
        tail = s_top / mu_last if mu_last > 0 else np.inf
        total += weight * (seg.sum() + tail)
    return float(total)
