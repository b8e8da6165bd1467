"""The surrogate-endpoint planner dashboard: a parameter-set picker, sliders for the planning inputs with a reset
and a download of the inputs as a parameter file, sample sizes, power curves, the FIX → ABR prediction, a
simulation check of the lead-in design, the protocol synopsis, and the validation of a surrogate on multi-centre
data (the ARMD trial shipped with the package).

Callbacks only read widget values, validate them (:func:`~atmp_hta.planners.surrogate.workbook.surrogate_inputs`),
call the planner (:func:`~atmp_hta.planners.surrogate.workbook.plan_trial`, the same code path as the workbook
``notebooks/surrogate_planner.ipynb``) and its charts (:mod:`atmp_hta.planners.surrogate_charts`), and write
widget values. Charts are built once; afterwards a change only swaps their datasets. The dashboard's state (plan,
simulation check, validation, error) is held in typed traits that other code can observe.
"""

from __future__ import annotations

import copy
import html
import math
import time
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import ipywidgets as widgets
import pandas as pd
import traitlets
import yaml

from atmp_hta import charts
from atmp_hta.planners import surrogate_charts
from atmp_hta.planners.surrogate import (
    SurrogateValidation,
    load_armd,
    read_planner_parameters,
    synopsis_to_csv,
    synopsis_to_markdown,
    validate_surrogate,
)
from atmp_hta.planners.surrogate.workbook import (
    DEFAULT_PARAMETER_FILE,
    EXPRESSION_SCENARIOS,
    SurrogatePlan,
    plan_trial,
    simulation_check,
    surrogate_inputs,
)
from atmp_hta.widgets.common import STYLE, busy, data_link, dump_yaml, set_within
from atmp_hta.widgets.views import error_banner_html

__all__ = ["SurrogatePlannerDashboard", "SLIDERS", "SIMULATION_CHOICES", "VALIDATION_MODELS", "css_class",
           "sizes_html", "synopsis_html", "validation_html", "surrogate_parameter_sets", "parameters_yaml"]


@dataclass(frozen=True)
class Slider:
    name: str
    label: str
    low: float
    high: float
    step: float
    digits: int
    group: str


_FIX = "Primary endpoint: FIX activity at week 26"
_ABR = "Key secondary: bleeding in a lead-in design"
_ERR = "Error rates and drop-out"
#: The planning inputs on sliders (the other workbook parameters keep the values of the parameter file). The
#: ranges keep every exact lead-in search under a few seconds on one core.
SLIDERS = (
    Slider("fix_mean_iu_dl", "Mean FIX activity (IU/dL)", 5.0, 150.0, 0.5, 1, _FIX),
    Slider("fix_sd_iu_dl", "SD of FIX activity (IU/dL)", 1.0, 100.0, 0.1, 1, _FIX),
    Slider("fix_null_geometric_mean_iu_dl", "Null geometric mean (IU/dL)", 1.0, 50.0, 0.5, 1, _FIX),
    Slider("abr_leadin", "ABR on prophylaxis (lead-in)", 1.0, 12.0, 0.01, 2, _ABR),
    Slider("rate_ratio_expected", "Rate ratio, after / before", 0.1, 0.8, 0.01, 2, _ABR),
    Slider("abr_dispersion", "Frailty variance (dispersion)", 0.0, 3.0, 0.05, 2, _ABR),
    Slider("leadin_years", "Lead-in period (years)", 0.25, 2.0, 0.05, 2, _ABR),
    Slider("post_years", "Efficacy period (years)", 0.5, 3.0, 0.05, 2, _ABR),
    Slider("noninferiority_margin", "Non-inferiority margin", 1.1, 3.0, 0.05, 2, _ABR),
    Slider("alpha_one_sided", "One-sided alpha", 0.005, 0.1, 0.005, 3, _ERR),
    Slider("target_power", "Target power", 0.5, 0.99, 0.01, 2, _ERR),
    Slider("dropout", "Drop-out", 0.0, 0.5, 0.01, 2, _ERR),
)
SIMULATION_CHOICES = (("2,000 trials", 2_000), ("10,000 trials", 10_000), ("50,000 trials", 50_000))
#: Stage-1 models of the two-stage validation, as offered in the dashboard.
VALIDATION_MODELS = (("full: centre-specific intercepts", "full"), ("reduced: common intercept", "reduced"))
#: The ARMD columns: surrogate (visual-acuity change at 24 weeks), true endpoint (52 weeks), treatment, centre.
ARMD_COLUMNS = ("Diff24", "Diff52", "Treat", "Center")

SURROGATE_STYLE = """
<style>
.atmp-sizes {display: flex; gap: 10px; flex-wrap: wrap; font-family: Helvetica, Arial, sans-serif;}
.atmp-size {border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; min-width: 200px; background: #f6f8fa;}
.atmp-size.planned {background: #1b4f8a; color: #fff; border-color: #1b4f8a;}
.atmp-size .atmp-size-label {font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; opacity: 0.8;}
.atmp-size b {font-size: 28px; font-weight: 700; display: block; margin: 2px 0; font-variant-numeric: tabular-nums;}
.atmp-size .atmp-size-note {font-size: 12px; opacity: 0.85;}
.atmp-details {font-family: Helvetica, Arial, sans-serif; font-size: 13px; color: #333; line-height: 1.55;
  max-width: 780px;}
.atmp-subtitle {line-height: 1.4; margin-bottom: 6px;}
.atmp-downloads a {margin-right: 18px; font-family: Helvetica, Arial, sans-serif; font-size: 13px;}
</style>
"""


def css_class(name: str) -> str:
    """CSS class of an input's slider (``rate_ratio_expected`` -> ``atmp-param-rate-ratio-expected``)."""
    return "atmp-param-" + name.replace("_", "-")


# ------------------------------------------------------------------------------------------- views (HTML)
def _num(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.{digits}g}" if isinstance(value, float) else html.escape(str(value))


def sizes_html(plan: SurrogatePlan) -> str:
    """The four sample sizes as cards (the numbers are the plan's; classes ``atmp-n-*`` for tests)."""
    p, ni, sup = plan.inputs, plan.noninferiority, plan.superiority

    def card(kind, label, number, note, extra=""):
        return (f'<div class="atmp-size {extra}" data-size="{kind}"><div class="atmp-size-label">{label}</div>'
                f'<b class="atmp-n-{kind}">{number}</b><div class="atmp-size-note">{note}</div></div>')

    return (
        '<div class="atmp-sizes">'
        + card("primary", "Primary: FIX activity", plan.n_primary_rounded,
               f"n = {plan.n_primary:.2f} · d = {plan.effect_size:.2f} · one-sample t-test")
        + card("noninferiority", f"Lead-in: non-inferiority (RR &lt; {ni.margin:g})", ni.n_patients_exact,
               f"exact · normal approx. {ni.n_patients_normal:.1f} · {ni.events_required:.0f} bleeds")
        + card("superiority", "Lead-in: superiority (RR &lt; 1)", sup.n_patients_exact,
               f"exact · normal approx. {sup.n_patients_normal:.1f} · {sup.events_required:.0f} bleeds")
        + card("planned", "Planned enrolment", plan.n_planned,
               f"max(primary, non-inferiority) with {p.dropout:.0%} drop-out", "planned")
        + "</div>"
    )


def details_html(plan: SurrogatePlan) -> str:
    """FIX attainment, the FIX → ABR bridge and the power of each lead-in design at its exact size."""
    above = " · ".join(f"P(FIX &gt; {t:g}) = {p:.3f}" for t, p in plan.fix_above_thresholds.itertuples(index=False))
    b = plan.bridge
    return (
        '<div class="atmp-details">'
        f"<b>FIX activity</b>: geometric mean {plan.fix_geometric_mean:.1f} IU/dL, log SD {plan.fix_log_sd:.3f}; "
        f"{above}<br>"
        f"<b>Bridge</b>: ln ABR = {plan.bridge_intercept:.3f} {plan.bridge_slope:+.3f} ln FIX → predicted mean ABR "
        f'after dosing <span class="atmp-mean-abr">{b.mean_abr:.3f}</span>; '
        f"P(no bleed in {b.years:g} y) = {b.prob_zero_bleeds:.3f}; P(ABR ≤ 1) = {float(b.prob_abr_at_most(1.0)):.3f}"
        f"<br><b>Power curves</b>: at the expected geometric mean and at "
        f"{' and '.join(f'{100 * f:g} %' for f in EXPRESSION_SCENARIOS[1:])} of it (lower expression than planned); "
        "the dashed line is the target power"
        f"<br><b>Lead-in</b>: exact power {plan.noninferiority.power_exact:.3f} (non-inferiority, n = "
        f"{plan.noninferiority.n_patients_exact}) and {plan.superiority.power_exact:.3f} (superiority, n = "
        f"{plan.superiority.n_patients_exact})</div>"
    )


SYNOPSIS_SHOWN = (
    # (column, header, numeric)
    ("role", "Role", False),
    ("endpoint", "Endpoint", False),
    ("timepoint", "Time point", False),
    ("hypothesis", "Hypothesis", False),
    ("alpha", "α", True),
    ("n_required", "n required", True),
    ("n_planned", "n planned", True),
    ("power_at_planned", "Power at n", True),
    ("justification", "Justification", False),
)


def synopsis_html(table: pd.DataFrame) -> str:
    """The protocol synopsis as an HTML table (numbers to 3 significant digits, blanks where none apply)."""
    head = "".join(f'<th class="{"num" if num else ""}">{html.escape(label)}</th>' for _, label, num in SYNOPSIS_SHOWN)
    rows = []
    for record in table.to_dict(orient="records"):
        cells = "".join(
            f'<td class="num">{_num(record[col])}</td>' if num else f"<td>{html.escape(str(record[col]))}</td>"
            for col, _, num in SYNOPSIS_SHOWN
        )
        rows.append(f"<tr>{cells}</tr>")
    body = "".join(rows)
    return f'<table class="atmp-table atmp-synopsis"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def downloads_html(table: pd.DataFrame) -> str:
    """Links that download the synopsis as Markdown and as CSV (the package's exports)."""
    return ('<div class="atmp-downloads">'
            + data_link(synopsis_to_markdown(table), "synopsis.md", "Synopsis (Markdown)", "text/markdown",
                        "atmp-download-md")
            + data_link(synopsis_to_csv(table), "synopsis.csv", "Synopsis (CSV)", "text/csv", "atmp-download-csv")
            + "</div>")


def simulation_html(check: pd.DataFrame, n_sim: int, seconds: float) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(r['design'])}</td><td class='num'>{r['n_patients']}</td>"
        f"<td class='num atmp-power-analytic'>{r['power_analytic']:.3f}</td>"
        f"<td class='num atmp-power-simulated'>{r['power_simulated']:.3f}</td>"
        f"<td class='num'>{r['mc_se']:.4f}</td><td class='num'>{r['z']:+.2f}</td>"
        f"<td>{'✓ agrees' if r['agrees'] else '✗ differs'}</td></tr>"
        for r in check.to_dict(orient="records")
    )
    return (f'<table class="atmp-table atmp-simulation"><thead><tr><th>design</th><th class="num">patients</th>'
            '<th class="num">analytic power</th><th class="num">simulated power</th><th class="num">MC SE</th>'
            f'<th class="num">z</th><th></th></tr></thead><tbody>{rows}</tbody></table>'
            f'<div class="atmp-conventions">{n_sim:,} simulated trials per design (negative-binomial patients '
            f"with gamma frailty, same exact test) in {seconds:.1f} s; agreement: |z| &lt; 4</div>")


VALIDATION_SHOWN = (
    # (measure, label, what it says)
    ("proportion_explained", "Proportion of the effect explained (Freedman)", "single trial"),
    ("relative_effect", "Relative effect β/α (delta method)", "single trial"),
    ("relative_effect_fieller", "Relative effect β/α (Fieller)", "single trial"),
    ("adjusted_association", "Adjusted association ρ_Z", "single trial"),
    ("r2_individual", "Individual-level R²", "two-stage"),
    ("r2_trial", "Trial-level R²", "two-stage"),
    ("surrogate_threshold_effect", "Surrogate threshold effect", "two-stage"),
)


def _bound(x: float) -> str:
    if math.isnan(x):
        return ""
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.4g}"


def _interval(lower: float, upper: float) -> str:
    if math.isnan(lower) and math.isnan(upper):
        return "—"
    if math.isinf(lower) and math.isinf(upper):
        return "unbounded"
    return f"{_bound(lower)} to {_bound(upper)}"


def _p_value(p: float) -> str:
    return "p &lt; 0.001" if p < 0.001 else f"p = {p:.3f}"


def prentice_html(validation: SurrogateValidation) -> str:
    """Prentice's verdict with the p-values of the four effects it rests on (formatting only)."""
    c = validation.prentice.coefficients
    tests = (
        ("1: surrogate ~ treatment", "treatment", "treatment → surrogate"),
        ("2: true ~ treatment", "treatment", "treatment → true endpoint"),
        ("3: true ~ surrogate", "surrogate", "surrogate → true endpoint"),
        ("4: true ~ treatment + surrogate", "treatment", "treatment → true endpoint given the surrogate"),
    )
    parts = []
    for model, term, label in tests:
        row = c[(c["model"] == model) & (c["term"] == term)]
        if len(row):
            parts.append(f"{label} {_p_value(float(row['p_value'].iloc[0]))}")
    verdict = "hold" if validation.prentice.passed else "do not hold"
    return (f'<div class="atmp-details"><b>Prentice criteria <span class="atmp-prentice">{verdict}</span></b> at '
            f"α = {validation.prentice.alpha:g} (the first three effects must be significant, the last not): "
            + " · ".join(parts) + "</div>")


def validation_html(validation: SurrogateValidation) -> str:
    """The validation measures with their confidence intervals (``data-measure`` attributes for tests)."""
    shown = validation.to_frame().set_index("measure")
    level = f"{1 - validation.alpha:.0%}"
    rows = []
    for measure, label, kind in VALIDATION_SHOWN:
        r = shown.loc[measure]
        rows.append(
            f'<tr data-measure="{measure}"><td>{html.escape(label)}</td><td>{kind}</td>'
            f"<td class='num atmp-estimate'>{_bound(float(r['estimate']))}</td>"
            f"<td class='num'>{_interval(float(r['ci_lower']), float(r['ci_upper']))}</td>"
            f"<td>{html.escape(str(r['method']))}</td></tr>"
        )
    weighting = "weighted by centre size" if validation.weighted else "unweighted"
    return (
        f'<table class="atmp-table atmp-validation"><thead><tr><th>measure</th><th>level</th>'
        f'<th class="num">estimate</th><th class="num">{level} CI</th><th>method</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table>'
        f'<div class="atmp-conventions">{validation.n_patients} patients in {validation.n_trials} centres; '
        f"stage-1 model {validation.model}, stage 2 {weighting}. Single-trial measures pool all patients.</div>"
    )


# ------------------------------------------------------------------------------------------ parameter files
def surrogate_parameter_sets(directory=None) -> dict[str, tuple[str, dict, dict]]:
    """Every ``*.yaml`` directly in ``directory`` whose values the surrogate planner accepts.

    A file is listed when :func:`~atmp_hta.planners.surrogate.read_planner_parameters` reads it (every value
    cited or marked as an assumption) and :func:`~atmp_hta.planners.surrogate.workbook.surrogate_inputs`
    validates its values. Returns ``{path: (label, values, document)}`` sorted by file name: the picker's label,
    the file's values and its YAML document (what the download of the inputs starts from).
    """
    out = {}
    for path in sorted(Path(directory if directory is not None else DEFAULT_PARAMETER_FILE.parent).glob("*.yaml")):
        try:
            entry = _parameter_set(path)
            surrogate_inputs(**entry[1])
        except (ValueError, OSError, yaml.YAMLError):
            continue  # another planner's file, or an invalid one: its reader says why
        out[str(path)] = entry
    return out


def _parameter_set(path) -> tuple[str, dict, dict]:
    """``(label, values, document)`` of a planner file (its reader raises if it is not one)."""
    path = Path(path)
    values = read_planner_parameters(path)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return f"{path.stem}: {document.get('indication', '')}".rstrip(": "), values, document


def parameters_yaml(document: dict, values: dict, file_name: str) -> str:
    """The planner file ``document`` with ``values`` in place, as YAML that ``read_planner_parameters`` reads.

    An entry whose value differs from the file's keeps its unit and says ``assumption: set in the dashboard``
    with the file's value and its source (the file's source no longer supports the new value); every other
    entry, and ``sources``, are the file's.
    """
    doc = copy.deepcopy(document)
    for name, entry in doc["parameters"].items():
        new = values.get(name, entry["value"])
        if new != entry["value"]:
            cited = f"source: {entry['source']}" if entry.get("source") else "an assumption"
            doc["parameters"][name] = {
                "value": new, **({"unit": entry["unit"]} if "unit" in entry else {}),
                "assumption": f"set in the surrogate-planner dashboard; {file_name} gives {entry['value']!r} "
                              f"({cited})"}
    return (f"# Surrogate-planner inputs from the dashboard: the values of {file_name} with the dashboard's in "
            "place.\n# A value set in the dashboard is an assumption; the entry gives the file's value and source.\n"
            + dump_yaml(doc))


# --------------------------------------------------------------------------------------------- dashboard
def _placeholder(text="planning …"):
    return alt.Chart(pd.DataFrame({"text": [text]})).mark_text(fontSize=13, color="#555").encode(
        text="text:N").properties(width=400, height=40)


def _dataset_names(spec: dict) -> list[str]:
    """Names of a chart's datasets, one per layer, in layer order."""
    return [layer["data"]["name"] for layer in (spec.get("layer") or [spec])]


_NO_DOWNLOAD = '<span class="atmp-conventions">Fix the inputs to download them.</span>'


class SurrogatePlannerDashboard(traitlets.HasTraits):
    """Sliders for the main planning inputs; every change re-plans the trial through the package.

    Parameters
    ----------
    path : str or Path, optional
        Planner parameter file opened first (default: ``parameters/planners/surrogate_haemophilia_b.yaml``, or
        the first listed file of ``directory`` when one is given).
    seed : int
        Seed of the simulation check (same seed, same numbers).
    n_sim : int
        Simulated trials per design offered first for the simulation check.
    directory : str or Path, optional
        Folder whose surrogate-planner files the picker lists (default: the bundled ``parameters/planners/``).

    Attributes
    ----------
    plan, check, validation, error, parameter_file
        Traits (observe them with ``dashboard.observe(callback, names=...)``): the trial plan of the current
        inputs, the simulation check (None until run, and after a change), the surrogate validation on the
        ARMD trial, the message of invalid inputs (None when valid) and the path of the parameter file in use.
    """

    plan = traitlets.Instance(SurrogatePlan, allow_none=True)
    check = traitlets.Instance(pd.DataFrame, allow_none=True)
    validation = traitlets.Instance(SurrogateValidation, allow_none=True)
    error = traitlets.Unicode(None, allow_none=True)
    parameter_file = traitlets.Unicode()

    def __init__(self, path=None, seed: int = 1, n_sim: int = 10_000, *, directory=None):
        super().__init__()
        self.seed = int(seed)
        self._sets = surrogate_parameter_sets(directory)
        if path is None:
            path = next(iter(self._sets)) if directory is not None and self._sets else DEFAULT_PARAMETER_FILE
        if str(path) not in self._sets:  # a file outside the folder: offered too (the reader says if it is bad)
            self._sets[str(path)] = _parameter_set(path)
        self._holding = False

        self.picker = widgets.Dropdown(options=[(label, p) for p, (label, _, _) in self._sets.items()],
                                       value=str(path), description="Parameter set",
                                       style={"description_width": "100px"}, layout=widgets.Layout(width="660px"))
        self.picker.add_class("atmp-surrogate-picker")
        self.sliders: dict[str, widgets.FloatSlider] = {}
        for s in SLIDERS:
            slider = widgets.FloatSlider(
                min=s.low, max=s.high, step=s.step, description=s.label, readout_format=f".{s.digits}f",
                continuous_update=False, style={"description_width": "190px"},
                layout=widgets.Layout(width="450px", min_width="450px"),
            )
            slider.add_class(css_class(s.name))
            slider.observe(self._on_slider, names="value")
            self.sliders[s.name] = slider
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="back to the file's values",
                                           layout=widgets.Layout(width="110px"))
        self.reset_button.add_class("atmp-surrogate-reset")
        self.reset_button.on_click(lambda _: self.reset())
        self.inputs_download = widgets.HTML()
        self.header = widgets.HTML()
        self.sizes = widgets.HTML()
        self.details = widgets.HTML()
        self.power_chart = alt.JupyterChart(_placeholder())
        self.abr_chart = alt.JupyterChart(_placeholder())
        self._built: set[str] = set()
        choices = dict(SIMULATION_CHOICES).values()
        self.sim_draws = widgets.Dropdown(options=SIMULATION_CHOICES, value=n_sim if n_sim in choices else 10_000,
                                          description="Simulate", layout=widgets.Layout(width="250px"))
        self.sim_button = widgets.Button(description="Check by simulation", icon="play", button_style="primary",
                                         layout=widgets.Layout(width="210px"))
        self.sim_button.on_click(lambda _: self.run_simulation())
        self.sim_progress = widgets.IntProgress(value=0, min=0, max=2,
                                                layout=widgets.Layout(width="200px", visibility="hidden"))
        self.sim_status = widgets.HTML()
        self.synopsis = widgets.HTML()
        self.download = widgets.HTML()

        self.armd = load_armd()
        self.validation_model = widgets.Dropdown(options=VALIDATION_MODELS, value="full", description="Stage 1",
                                                 layout=widgets.Layout(width="330px"))
        self.validation_weighted = widgets.Checkbox(value=True, description="weight centres by size",
                                                    indent=False, layout=widgets.Layout(width="220px"))
        self.validation_model.observe(lambda _: self.revalidate(), names="value")
        self.validation_weighted.observe(lambda _: self.revalidate(), names="value")
        self.prentice = widgets.HTML()
        self.validation_table = widgets.HTML()
        self.validation_chart = alt.JupyterChart(_placeholder("validating …"))
        self.picker.observe(lambda change: self.load(change["new"]), names="value")
        self.load(path)
        self.revalidate()

    # ------------------------------------------------------------------------------------------ state
    def values(self) -> dict:
        """The planner's values: the file's, with the sliders' in place of those they show."""
        return {**self.defaults, **{name: float(s.value) for name, s in self.sliders.items()}}

    def inputs(self):
        """Validated inputs (slider messages can carry any value; :class:`ParameterError` if invalid)."""
        return surrogate_inputs(**self.values(), seed=self.seed)

    # ------------------------------------------------------------------------------------------ callbacks
    def _on_slider(self, _change):
        if not self._holding:
            self.refresh()

    def load(self, path):
        """Open a listed parameter file: every slider at its values, the simulation check dropped, one re-plan."""
        if self.picker.value != str(path):
            self.picker.value = str(path)  # fires load again: that call does the work
            return
        _, self.defaults, self._document = self._sets[str(path)]
        self.path = path
        self.header.value = (
            STYLE + SURROGATE_STYLE + '<div class="atmp-title">Surrogate-endpoint planner: Phase II of an AAV '
            'Factor IX gene therapy</div><div class="atmp-subtitle">Move a slider: the sample sizes, power curves, '
            "predicted bleeding and the protocol synopsis follow. Defaults and their sources: "
            f'<code class="atmp-surrogate-file">{html.escape(Path(path).name)}</code>'
            + (f" ({html.escape(str(self._document['indication']))})" if self._document.get("indication") else "")
            + "; all numbers computed by atmp_hta.planners.surrogate.</div>"
        )
        self.parameter_file = str(path)
        self.reset()

    def reset(self):
        """Every slider back to the parameter file's value (one re-plan, not one per slider)."""
        self._holding = True
        try:
            for s in SLIDERS:
                set_within(self.sliders[s.name], float(self.defaults[s.name]), s.low, s.high)
        finally:
            self._holding = False
        self.refresh()

    def refresh(self):
        """Re-plan with the current slider values and update every view."""
        try:
            plan = plan_trial(self.inputs())
        except ValueError as exc:  # ParameterError: say what is wrong, keep the inputs and the last plan's views
            self.error = str(exc)
            self.sizes.value = STYLE + SURROGATE_STYLE + error_banner_html(self.error)
            self.inputs_download.value = _NO_DOWNLOAD
            self.sim_button.disabled = True
            return
        self.error, self.plan = None, plan
        self.sizes.value = STYLE + SURROGATE_STYLE + sizes_html(plan)
        self.details.value = details_html(plan)
        self._show_power(plan)
        self._show_abr(plan)
        self.synopsis.value = synopsis_html(plan.synopsis)
        self.download.value = downloads_html(plan.synopsis)
        name = Path(self.path).name
        self.inputs_download.value = '<div class="atmp-downloads">' + data_link(
            parameters_yaml(self._document, self.values(), name), f"{Path(self.path).stem}-dashboard.yaml",
            "These inputs (YAML)", css="atmp-download-yaml") + "</div>"
        self.sim_button.disabled = False
        if self.check is not None:
            self.check = None
            self.sim_status.value = "<i>inputs changed: run the simulation check again</i>"

    def power_title(self, plan: SurrogatePlan) -> str:
        return f"Power of the primary FIX test (one-sample, one-sided α = {plan.inputs.alpha_one_sided:g})"

    def _show_power(self, plan):
        rule = pd.DataFrame({"power": [plan.inputs.target_power]})  # the target-power rule's table
        if "power" not in self._built:
            chart = surrogate_charts.power_curve_chart(plan.power_curve, plan.inputs.target_power, width=400,
                                                       height=230)
            self.power_chart.chart = chart.properties(title=self.power_title(plan))
            self._built.add("power")
        else:
            self._swap(self.power_chart, [plan.power_curve, rule], self.power_title(plan))

    def _show_abr(self, plan):
        title = f"Predicted bleeds after dosing ({plan.inputs.post_years:g} y; mean ABR {plan.bridge.mean_abr:.2f})"
        if "abr" not in self._built:
            chart = surrogate_charts.abr_prediction_chart(plan.bridge.table, width=400, height=200)
            self.abr_chart.chart = chart.properties(title=title)
            self._built.add("abr")
        else:
            self._swap(self.abr_chart, [plan.bridge.table], title)

    @staticmethod
    def _swap(view, tables, title):
        """Replace a built chart's datasets (one table per layer, in layer order) and its title."""
        names = _dataset_names(view.spec)
        view.spec = charts.updated_spec(view.spec, dict(zip(names, tables, strict=True)), title)

    # ------------------------------------------------------------------------------------------ validation
    def revalidate(self):
        """Validate the ARMD surrogate with the chosen stage-1 model and weighting; update its views."""
        model, weighted = self.validation_model.value, bool(self.validation_weighted.value)
        self.validation = validate_surrogate(self.armd, *ARMD_COLUMNS, model=model, weighted=weighted)
        self.prentice.value = prentice_html(self.validation)
        self.validation_table.value = validation_html(self.validation)
        self.validation_chart.chart = surrogate_charts.trial_level_chart(
            self.validation.trials, self.validation.r2_trial.estimate, width=380, height=300,
            fitted="line" if model == "reduced" else "points")
        return self.validation

    # ------------------------------------------------------------------------------------------ simulation
    def run_simulation(self):
        """Simulate both lead-in designs at their exact sizes, behind the button, with a progress bar."""
        plan, n_sim = self.plan, int(self.sim_draws.value)
        if plan is None or self.error is not None:
            self.sim_status.value = "<b>could not run:</b> fix the inputs first"
            return None
        self.sim_progress.value = 0
        self.sim_status.value = f"simulating {n_sim:,} trials per design …"
        with busy(self.sim_button, self.sim_progress, self.sim_status):
            started = time.perf_counter()
            parts = []
            for design in ("noninferiority", "superiority"):
                parts.append(simulation_check(plan, n_sim, rng=self.seed, designs=(design,)))
                self.sim_progress.value += 1
            self.check = pd.concat(parts, ignore_index=True)
            self.sim_status.value = simulation_html(self.check, n_sim, time.perf_counter() - started)
        return self.check

    # ------------------------------------------------------------------------------------------ layout
    def widget(self) -> widgets.Widget:
        rows = []
        group = None
        for s in SLIDERS:
            if s.group != group:
                group = s.group
                rows.append(widgets.HTML(f'<div class="atmp-group">{html.escape(group)}</div>'))
            rows.append(self.sliders[s.name])
        controls = widgets.VBox(rows, layout=widgets.Layout(width="460px", min_width="460px"))
        right = widgets.VBox([self.details, self.power_chart, self.abr_chart],
                             layout=widgets.Layout(gap="6px"))
        body = widgets.HBox([controls, right], layout=widgets.Layout(gap="20px"))
        simulation = widgets.VBox([
            widgets.HTML('<div class="atmp-section">Check of the lead-in design by simulation</div>'),
            widgets.HBox([self.sim_draws, self.sim_button, self.sim_progress],
                         layout=widgets.Layout(align_items="center", gap="8px")),
            self.sim_status,
        ])
        synopsis = widgets.VBox([
            widgets.HTML('<div class="atmp-section">Protocol synopsis</div>'), self.download, self.synopsis,
        ])
        validation = widgets.VBox([
            widgets.HTML('<div class="atmp-section">Surrogate validation on multi-centre data: ARMD trial '
                         "(visual acuity at 24 weeks for 52 weeks)</div>"),
            widgets.HBox([self.validation_model, self.validation_weighted],
                         layout=widgets.Layout(align_items="center", gap="12px")),
            self.prentice,
            widgets.HBox([self.validation_table, self.validation_chart], layout=widgets.Layout(gap="20px")),
        ])
        toolbar = widgets.HBox([self.picker, self.reset_button, self.inputs_download],
                               layout=widgets.Layout(align_items="center", gap="12px"))
        return widgets.VBox([self.header, toolbar, self.sizes, body, simulation, synopsis, validation],
                            layout=widgets.Layout(gap="8px"))
