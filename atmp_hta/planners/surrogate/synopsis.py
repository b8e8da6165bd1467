"""Protocol synopsis: the endpoints of a surrogate-led Phase II with their sample-size justification.

:func:`protocol_synopsis` turns endpoint plans into one tidy table (one row per endpoint);
:func:`haemophilia_b_synopsis` builds the table of an AAV Factor IX Phase II from a parameter mapping (the
``values`` of ``parameters/planners/surrogate_haemophilia_b.yaml``, see :func:`read_planner_parameters`),
calling the planning kernels of this package; :func:`synopsis_to_markdown` and :func:`synopsis_to_csv`
export it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from atmp_hta.exceptions import invalid
from atmp_hta.planners.surrogate._checks import check_positive, check_probability_open
from atmp_hta.planners.surrogate.bridge import calibrate_fix_abr, predict_abr
from atmp_hta.planners.surrogate.leadin import leadin_power, leadin_sample_size
from atmp_hta.planners.surrogate.power import (
    lognormal_from_arithmetic,
    prob_above_threshold,
    ttest_power,
    ttest_sample_size,
)

__all__ = [
    "SYNOPSIS_COLUMNS",
    "EndpointPlan",
    "protocol_synopsis",
    "synopsis_to_markdown",
    "synopsis_to_csv",
    "read_planner_parameters",
    "haemophilia_b_synopsis",
]

SYNOPSIS_COLUMNS = (
    "role",
    "domain",
    "endpoint",
    "timepoint",
    "analysis",
    "hypothesis",
    "alpha",
    "target_power",
    "n_required",
    "n_planned",
    "power_at_planned",
    "justification",
)
_ROLES = ("primary", "key secondary", "secondary", "exploratory", "safety")


@dataclass(frozen=True)
class EndpointPlan:
    """One endpoint of the synopsis; numbers are NaN where they do not apply (descriptive endpoints)."""

    role: str
    domain: str
    endpoint: str
    timepoint: str
    analysis: str
    hypothesis: str = ""
    alpha: float = float("nan")
    target_power: float = float("nan")
    n_required: float = float("nan")
    n_planned: float = float("nan")
    power_at_planned: float = float("nan")
    justification: str = ""


def protocol_synopsis(endpoints: Sequence[EndpointPlan | Mapping]):
    """Tidy synopsis table from endpoint plans (``EndpointPlan`` or mappings with the same fields).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SYNOPSIS_COLUMNS`, one row per endpoint, in the order given.

    Examples
    --------
    >>> t = protocol_synopsis([{"role": "primary", "domain": "surrogate", "endpoint": "FIX activity",
    ...                         "timepoint": "week 26", "analysis": "one-sample t-test on log FIX"}])
    >>> t.loc[0, "endpoint"], t.shape
    ('FIX activity', (1, 12))
    """
    where = "protocol_synopsis"
    rows = []
    for i, item in enumerate(endpoints):
        plan = item if isinstance(item, EndpointPlan) else None
        if plan is None:
            if not isinstance(item, Mapping):
                raise invalid(f"endpoints[{i}]", "an EndpointPlan or a mapping", type(item).__name__, where)
            unknown = set(item) - set(SYNOPSIS_COLUMNS)
            if unknown:
                raise invalid(f"endpoints[{i}]", f"fields among {SYNOPSIS_COLUMNS}", sorted(unknown), where)
            try:
                plan = EndpointPlan(**item)
            except TypeError as err:
                raise invalid(
                    f"endpoints[{i}]", "role, domain, endpoint, timepoint and analysis", sorted(item), where
                ) from err
        if plan.role not in _ROLES:
            raise invalid(f"endpoints[{i}].role", f"one of {_ROLES}", plan.role, where)
        rows.append(asdict(plan))
    if not rows:
        raise invalid("endpoints", "at least one endpoint", 0, where)
    return pd.DataFrame(rows, columns=list(SYNOPSIS_COLUMNS))


def _fmt(value):
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e9:
            return str(int(value))
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def synopsis_to_markdown(table):
    """GitHub-flavoured Markdown table (NaN shown blank; numbers to 3 significant digits).

    Examples
    --------
    >>> print(synopsis_to_markdown(pd.DataFrame({"endpoint": ["ABR"], "n_required": [12.3]})))
    | endpoint | n_required |
    | --- | --- |
    | ABR | 12.3 |
    """
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def synopsis_to_csv(table, path=None):
    """CSV text of the synopsis; also written to ``path`` when given.

    Examples
    --------
    >>> synopsis_to_csv(pd.DataFrame({"endpoint": ["ABR"]})).splitlines()
    ['endpoint', 'ABR']
    """
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    text = buffer.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def read_planner_parameters(path):
    """Values of a planner parameter file: ``{name: value}`` from its ``parameters`` section.

    Each entry of the file's ``parameters`` mapping is
    ``{value: ..., unit: ..., source: ... | assumption: ...}``; an entry without a ``source`` must say
    ``assumption``, and a ``source`` (a key, or a list of keys) must name entries of the file's ``sources``.
    """
    where = "read_planner_parameters"
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, Mapping) or not isinstance(doc.get("parameters"), Mapping):
        raise invalid("path", "a YAML file with a 'parameters' mapping", str(path), where)
    sources = doc.get("sources") or {}
    out = {}
    for name, entry in doc["parameters"].items():
        if not isinstance(entry, Mapping) or "value" not in entry:
            raise invalid(f"parameters.{name}", "a mapping with a 'value'", entry, where)
        if not (entry.get("source") or entry.get("assumption")):
            raise invalid(f"parameters.{name}", "a 'source' or an 'assumption'", sorted(entry), where)
        cited = entry.get("source") or []
        unknown = [key for key in ([cited] if isinstance(cited, str) else cited) if key not in sources]
        if unknown:
            raise invalid(f"parameters.{name}.source", f"keys of 'sources' {sorted(sources)}", unknown, where)
        out[name] = entry["value"]
    return out


_REQUIRED = (
    "fix_mean_iu_dl",
    "fix_sd_iu_dl",
    "fix_null_geometric_mean_iu_dl",
    "alpha_one_sided",
    "target_power",
    "abr_leadin",
    "abr_dispersion",
    "leadin_years",
    "post_years",
    "rate_ratio_expected",
    "noninferiority_margin",
    "dropout",
    "fix_abr_calibration_fix",
    "fix_abr_calibration_abr",
    "pro_effect_size",
    "safety_event_rate",
)


def _normal_note(design):
    return (
        f"normal approximation {design.n_patients_normal:.1f} patients ({design.events_required:.0f} bleeds), "
        "anti-conservative: it ignores the negative-binomial spread of bleed counts"
    )


def _checked_planner_values(p, where):
    """The planner values checked under their own names, so that an error names them and ``where`` (the
    kernels called afterwards would report their own parameter names)."""
    for name in ("fix_mean_iu_dl", "fix_sd_iu_dl", "fix_null_geometric_mean_iu_dl", "abr_leadin",
                 "leadin_years", "post_years", "pro_effect_size"):
        check_positive(name, p[name], where)
    check_positive("abr_dispersion", p["abr_dispersion"], where, allow_zero=True)
    alpha = float(check_probability_open("alpha_one_sided", p["alpha_one_sided"], where))
    target = float(check_probability_open("target_power", p["target_power"], where))
    if target <= alpha:
        raise invalid("target_power", f"in (alpha_one_sided = {alpha:g}, 1)", target, where)
    check_probability_open("rate_ratio_expected", p["rate_ratio_expected"], where)
    if float(check_positive("noninferiority_margin", p["noninferiority_margin"], where)) <= 1.0:
        raise invalid("noninferiority_margin", "> 1", p["noninferiority_margin"], where)
    dropout = float(check_positive("dropout", p["dropout"], where, allow_zero=True))
    if dropout >= 1.0:
        raise invalid("dropout", "in [0, 1)", dropout, where)
    check_probability_open("safety_event_rate", p["safety_event_rate"], where)
    fix = np.atleast_1d(check_positive("fix_abr_calibration_fix", p["fix_abr_calibration_fix"], where))
    abr = np.atleast_1d(check_positive("fix_abr_calibration_abr", p["fix_abr_calibration_abr"], where))
    if np.unique(fix).size < 2:
        raise invalid("fix_abr_calibration_fix", "at least two distinct levels", fix.tolist(), where)
    if abr.shape != fix.shape:
        raise invalid("fix_abr_calibration_abr", f"{fix.size} values, one per FIX level", abr.tolist(), where)
    return p


def haemophilia_b_synopsis(params: Mapping):
    """Synopsis of an AAV-FIX Phase II (surrogate primary, ABR lead-in and other secondaries).

    Parameters
    ----------
    params : mapping
        Planner values, e.g. ``read_planner_parameters("parameters/planners/surrogate_haemophilia_b.yaml")``.

    Returns
    -------
    pandas.DataFrame
        The :func:`protocol_synopsis` table. The larger of the primary and the non-inferiority requirements
        is the number of evaluable patients n_eval; the planned size ``n_planned`` is n_eval inflated for
        drop-out and rounded up, and ``power_at_planned`` is each endpoint's power with the n_eval evaluable
        patients of that planned enrolment (the same n for every row).

    Notes
    -----
    Primary: one-sample t-test of ln FIX at the end of the surrogate period against ln of the null geometric
    mean (one-sided). Key secondary: lead-in non-inferiority (upper bound of the ABR ratio below the margin)
    and superiority, planned with :func:`leadin_sample_size`: ``n_required`` is the exact size (conditional
    binomial test, power averaged over the negative-binomial number of bleeds), and the justification quotes
    the normal approximation, labelled as such. The FIX → ABR bridge (:func:`predict_abr`)
    gives the expected post-treatment ABR. PRO: paired t-test power at the planned size. Safety and
    immunogenicity: probability of observing at least one event of a given true incidence, 1 − (1 − p)ⁿ.
    """
    where = "haemophilia_b_synopsis"
    missing = [k for k in _REQUIRED if k not in params]
    if missing:
        raise invalid("params", f"a mapping with {list(_REQUIRED)}", f"missing {missing}", where)
    p = _checked_planner_values({k: params[k] for k in _REQUIRED}, where)
    alpha, target = float(p["alpha_one_sided"]), float(p["target_power"])
    mu, sigma = lognormal_from_arithmetic(float(p["fix_mean_iu_dl"]), float(p["fix_sd_iu_dl"]))
    mu, sigma = float(mu), float(sigma)
    if float(p["fix_null_geometric_mean_iu_dl"]) >= math.exp(mu):
        raise invalid(
            "fix_null_geometric_mean_iu_dl",
            f"below the expected geometric mean FIX activity ({math.exp(mu):.4g} IU/dL)",
            p["fix_null_geometric_mean_iu_dl"],
            where,
        )
    d = (mu - math.log(float(p["fix_null_geometric_mean_iu_dl"]))) / sigma
    n_primary = float(
        ttest_sample_size(d, alpha=alpha, power=target, design="one-sample", alternative="greater")
    )
    intercept, slope = calibrate_fix_abr(p["fix_abr_calibration_fix"], p["fix_abr_calibration_abr"])
    bridge = predict_abr(
        math.exp(mu), sigma, float(p["post_years"]), float(p["abr_dispersion"]), intercept, slope
    )
    leadin_kw = dict(
        rate_leadin=float(p["abr_leadin"]),
        rate_ratio=float(p["rate_ratio_expected"]),
        dispersion=float(p["abr_dispersion"]),
        leadin_years=float(p["leadin_years"]),
        post_years=float(p["post_years"]),
        alpha=alpha,
        power=target,
    )
    ni = leadin_sample_size(margin=float(p["noninferiority_margin"]), **leadin_kw)
    sup = leadin_sample_size(margin=1.0, **leadin_kw)
    n_evaluable = max(math.ceil(n_primary - 1e-9), ni.n_patients_exact)
    n_planned = math.ceil(n_evaluable / (1.0 - float(p["dropout"])) - 1e-9)
    power_kw = {k: v for k, v in leadin_kw.items() if k != "power"}
    power_ni = float(leadin_power(n_evaluable, margin=float(p["noninferiority_margin"]), **power_kw))
    power_sup = float(leadin_power(n_evaluable, margin=1.0, **power_kw))
    power_pro = float(ttest_power(float(p["pro_effect_size"]), n_evaluable, alpha=2 * alpha, design="paired"))
    rate = float(p["safety_event_rate"])
    detect = 1.0 - (1.0 - rate) ** n_evaluable
    share_5 = float(prob_above_threshold(5.0, math.exp(mu), sigma))
    share_prophylaxis_free = float(bridge.prob_abr_at_most(1.0))
    plans = [
        EndpointPlan(
            "primary",
            "surrogate (pharmacodynamic)",
            "FIX activity (one-stage assay)",
            "week 26",
            "one-sample t-test on ln FIX, one-sided",
            f"GM FIX > {p['fix_null_geometric_mean_iu_dl']} IU/dL",
            alpha,
            target,
            n_primary,
            n_planned,
            float(ttest_power(d, n_evaluable, alpha=alpha, design="one-sample", alternative="greater")),
            f"expected GM {math.exp(mu):.1f} IU/dL (log SD {sigma:.3f}); d = {d:.2f}; "
            f"P(FIX > 5 IU/dL) = {share_5:.3f}",
        ),
        EndpointPlan(
            "key secondary",
            "clinical",
            "ABR, post-treatment vs lead-in (non-inferiority)",
            f"months 7-{6 + round(12 * float(p['post_years']))} vs "
            f">= {round(12 * float(p['leadin_years']))}-month lead-in",
            "exact conditional test of pooled counts",
            f"upper {100 * (1 - alpha):.1f}% bound of RR < {ni.margin}",
            alpha,
            target,
            float(ni.n_patients_exact),
            n_planned,
            power_ni,
            f"lead-in ABR {ni.rate_leadin}, RR {ni.rate_ratio}, frailty variance {ni.dispersion}; "
            f"exact n {ni.n_patients_exact} (power {ni.power_exact:.3f}); {_normal_note(ni)}",
        ),
        EndpointPlan(
            "key secondary",
            "clinical",
            "ABR, post-treatment vs lead-in (superiority)",
            "as above",
            "exact conditional test of pooled counts",
            "RR < 1",
            alpha,
            target,
            float(sup.n_patients_exact),
            n_planned,
            power_sup,
            f"exact n {sup.n_patients_exact} (power {sup.power_exact:.3f}); {_normal_note(sup)}; "
            f"bridge-predicted mean ABR after dosing {bridge.mean_abr:.2f}",
        ),
        EndpointPlan(
            "secondary",
            "prophylaxis",
            "Free of continuous prophylaxis",
            "months 7-18",
            "proportion with exact 95% CI",
            "descriptive",
            justification=(f"bridge-predicted share with ABR <= 1: {share_prophylaxis_free:.2f}"),
        ),
        EndpointPlan(
            "secondary",
            "patient-reported outcome",
            "Hem-B-QoL / EQ-5D-5L change from baseline",
            "month 12",
            "paired t-test, two-sided",
            "mean change != 0",
            2 * alpha,
            float("nan"),
            float(
                ttest_sample_size(float(p["pro_effect_size"]), alpha=2 * alpha, power=target, design="paired")
            ),
            n_planned,
            power_pro,
            f"standardised change d = {p['pro_effect_size']} (assumption)",
        ),
        EndpointPlan(
            "safety",
            "safety",
            "ALT elevation > ULN / hepatotoxicity requiring steroids",
            "through month 18",
            "incidence with exact 95% CI",
            "descriptive",
            n_planned=n_planned,
            power_at_planned=detect,
            justification=f"P(at least one event | incidence {rate}) with n = {n_evaluable}",
        ),
        EndpointPlan(
            "safety",
            "immunogenicity",
            "Anti-AAV neutralising antibodies; FIX inhibitors",
            "through month 18",
            "incidence with exact 95% CI",
            "descriptive",
            n_planned=n_planned,
            power_at_planned=detect,
            justification=f"P(at least one event | incidence {rate}) with n = {n_evaluable}",
        ),
    ]
    return protocol_synopsis(plans)
