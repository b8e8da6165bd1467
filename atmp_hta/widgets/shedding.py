"""The shedding-study planner dashboard: a parameter-set picker, design sliders with a reset, the precaution
period next to label periods, the study plan (with CSV/Markdown downloads), the current inputs as a parameter file
and, behind a button, the schedules compared by simulation.

Callbacks only read widget values, validate them (:func:`~atmp_hta.planners.shedding.workbook.check_shedding_inputs`
on defaults loaded when the dashboard is built), call :mod:`atmp_hta.planners.shedding` and
:mod:`atmp_hta.planners.shedding_charts`, and write widget values. The HTML views below only format the numbers
of the package's tables. The dashboard's state (inputs, plan, recommendation, comparison, error) is held in typed
traits that other code can observe.
"""

from __future__ import annotations

import copy
import html
import json
import math
import time
from pathlib import Path

import altair as alt
import ipywidgets as widgets
import pandas as pd
import traitlets
import yaml

from atmp_hta import charts
from atmp_hta.planners import shedding_charts
from atmp_hta.planners.shedding import (
    PrecautionRecommendation,
    SheddingDefaults,
    StudyPlan,
    compare_schedules,
    kinetics_clearance_quantile,
    load_shedding_defaults,
    mitigation_table,
    recommend_precaution_period,
    study_plan,
)
from atmp_hta.planners.shedding.defaults import ASSUMPTION
from atmp_hta.planners.shedding.workbook import (
    DEFAULTS_DIR,
    SheddingInputs,
    check_shedding_inputs,
    precaution_for,
    resolve_defaults_file,
)
from atmp_hta.widgets.common import STYLE, data_link, dump_yaml, set_within
from atmp_hta.widgets.views import error_banner_html

__all__ = [
    "SheddingPlannerDashboard",
    "COMPARISON_COLUMNS",
    "PLAN_COLUMNS",
    "SIMULATION_INPUTS",
    "DESIGN_SLIDERS",
    "shedding_parameter_sets",
    "parameters_yaml",
    "format_metric",
    "comparison_html",
    "plan_html",
    "plan_downloads_html",
    "mitigation_banner_html",
]

STUDY_CHOICES = (("200 studies", 200), ("1,000 studies", 1000), ("5,000 studies", 5000))
#: The design inputs on sliders: name -> (label, low, high, step, readout format or None for whole numbers). The
#: range widens to take in a parameter file's value outside it.
DESIGN_SLIDERS = {
    "n_patients": ("Patients", 1, 200, 1, None),
    "consecutive": ("Consecutive negatives (N)", 1, 6, 1, None),
    "rule_start_day": ("Negatives count from day", 0, 56, 1, None),
    "p_missing": ("Missing samples (fraction)", 0.0, 0.5, 0.01, ".2f"),
    "risk_percentile": ("Percentile of clearance", 0.5, 0.99, 0.01, ".2f"),
    "margin_days": ("Margin (days)", 0, 180, 1, None),
}
#: The inputs a simulation depends on (a change marks the shown comparison as out of date).
SIMULATION_INPUTS = ("n_patients", "consecutive", "rule_start_day", "p_missing", "n_studies")
#: Columns of the comparison table: summary column -> (header, format).
COMPARISON_COLUMNS = {
    "p_peak_captured": ("P(peak captured)", "{:.3f}"),
    "clearance_bias_days": ("Bias of median clearance (d)", "{:+.1f}"),
    "expected_samples": ("Samples per study", "{:,.0f}"),
    "expected_cost": ("Cost per study", "{:,.0f}"),
    "p_false_clearance_study": ("P(≥1 false clearance)", "{:.3f}"),
}
#: Columns of the plan table shown: plan column -> header.
PLAN_COLUMNS = {
    "matrix": "Matrix", "visit": "Visit", "day": "Day", "week": "Week", "assay": "Assay",
    "lod95_copies_per_ml": "LOD95 (copies/mL)", "loq_copies_per_ml": "LOQ (copies/mL)",
    "sample_volume_ml": "Volume (mL)", "replicates": "Replicates", "cost_per_sample": "Cost per sample",
}
SHEDDING_STYLE = """
<style>
.atmp-banner.plan {background: #1f4e79; gap: 22px; line-height: 1.5;}
.atmp-banner.plan .atmp-label-periods {color: #dbe6f2;}
.atmp-subtitle, .atmp-title {line-height: 1.4;}
.atmp-shed-group {font-weight: 700; font-family: Helvetica, Arial, sans-serif; margin: 12px 0 2px; color: #333;
  font-size: 14px;}
.atmp-shed-note {font-family: Helvetica, Arial, sans-serif; font-size: 12px; color: #555; margin: 2px 0 6px;
  line-height: 1.4; max-width: 1200px;}
.atmp-shed-status {font-family: Helvetica, Arial, sans-serif; font-size: 13px; color: #333;}
.atmp-shed-status.stale, table.atmp-comparison.stale td {color: #999;}
table.atmp-comparison, table.atmp-plan {border-collapse: collapse; font-family: Helvetica, Arial, sans-serif;
  font-size: 13px; line-height: 1.35;}
table.atmp-comparison th, table.atmp-plan th {text-align: right; padding: 4px 8px; border-bottom: 2px solid #999;
  background: #fff; position: sticky; top: 0; vertical-align: bottom;}
table.atmp-comparison th.txt, table.atmp-plan th.txt {text-align: left;}
table.atmp-comparison td, table.atmp-plan td {padding: 3px 8px; border-bottom: 1px solid #e3e3e3; text-align: right;
  font-variant-numeric: tabular-nums; white-space: nowrap;}
table.atmp-comparison td.txt, table.atmp-plan td.txt {text-align: left;}
table.atmp-comparison tr.total td {font-weight: 700; border-bottom: 1px solid #999;}
table.atmp-comparison tr.planned td.txt:first-child {border-left: 4px solid #c0392b;}
.atmp-plan-box {max-height: 300px; overflow-y: auto; border: 1px solid #ddd;}
a.atmp-download {color: #1a5fb4; text-decoration: underline; font-family: Helvetica, Arial, sans-serif;
  font-size: 13px; margin-right: 18px;}
</style>
"""


# ------------------------------------------------------------------------------------------------- views
def format_metric(column: str, value) -> str:
    """How a comparison-table cell shows a summary value (``—`` when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return COMPARISON_COLUMNS[column][1].format(float(value))


def comparison_html(summary: pd.DataFrame, planned: str | None = None, stale: bool = False) -> str:
    """The schedule comparison as a table: one row per schedule × matrix (``all``: per-study totals)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h, _ in COMPARISON_COLUMNS.values())
    rows = []
    for r in summary.to_dict(orient="records"):
        cls = " ".join(c for c in ("total" if r["matrix"] == "all" else "",
                                   "planned" if r["schedule"] == planned else "") if c)
        cells = "".join(f'<td data-col="{c}">{format_metric(c, r.get(c))}</td>' for c in COMPARISON_COLUMNS)
        rows.append(f'<tr class="{cls}" data-schedule="{html.escape(str(r["schedule"]))}" '
                    f'data-matrix="{html.escape(str(r["matrix"]))}"><td class="txt">{html.escape(str(r["schedule"]))}'
                    f'</td><td class="txt">{html.escape(str(r["matrix"]))}</td>{cells}</tr>')
    return (f'<table class="atmp-comparison{" stale" if stale else ""}"><thead><tr><th class="txt">Schedule</th>'
            f'<th class="txt">Matrix</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _plain(value) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:g}"
    return html.escape(str(value))


def plan_html(plan) -> str:
    """The study plan's table (one row per matrix × visit), scrollable."""
    table = plan.table
    head = "".join(f'<th class="{"txt" if c in ("matrix", "assay") else ""}">{html.escape(h)}</th>'
                   for c, h in PLAN_COLUMNS.items())
    body = "".join(
        "<tr>" + "".join(f'<td class="{"txt" if c in ("matrix", "assay") else ""}">{_plain(r[c])}</td>'
                         for c in PLAN_COLUMNS) + "</tr>"
        for r in table.to_dict(orient="records"))
    return (f'<div class="atmp-shed-note atmp-plan-rule"><b>Stopping rule.</b> {html.escape(plan.stopping_rule)}'
            f'</div><div class="atmp-plan-box"><table class="atmp-plan" data-rows="{len(table)}"><thead><tr>{head}'
            f"</tr></thead><tbody>{body}</tbody></table></div>")


def plan_downloads_html(plan) -> str:
    """Links that download the plan as CSV and as Markdown (the package's own exports)."""
    return "".join(
        data_link(text, f"shedding-plan-{plan.name}.{ext}", f"Study plan ({kind})", f"{mime};charset=utf-8",
                  f"atmp-download-{ext}")
        for kind, ext, mime, text in (("CSV", "csv", "text/csv", plan.to_csv()),
                                      ("Markdown", "md", "text/markdown", plan.to_markdown()))
    )


def mitigation_banner_html(recommendation, table: pd.DataFrame) -> str:
    """The recommended precaution period, how it was derived, and the label periods beside it."""
    rec = recommendation
    labels = table[table["kind"] == "label"]
    label_text = " · ".join(f"{html.escape(str(r['product']))} {r['period_days']:g} d"
                            for r in labels.to_dict(orient="records")) or "none for this matrix"
    period = "—" if not math.isfinite(rec.period_days) else f"{rec.period_days:g}"
    return (
        f'<div class="atmp-banner plan" data-period="{rec.period_days:g}">'
        f'<span class="atmp-figure">{html.escape(rec.precaution.capitalize())} for '
        f'<b class="atmp-period">{period}</b> days</span>'
        f'<span class="atmp-figure">= P{rec.percentile * 100:g} of {html.escape(rec.matrix)} clearance '
        f'<b class="atmp-upper">{rec.upper_clearance_days:.1f}</b> d + margin '
        f'<b class="atmp-margin">{rec.margin_days:g}</b> d, rounded up to weeks</span>'
        f'<span class="atmp-figure atmp-label-periods">Labels: <span class="atmp-labels">{label_text}</span></span>'
        "</div>"
    )


def _placeholder(text=""):
    return alt.Chart(pd.DataFrame({"text": [text]})).mark_text(fontSize=13, color="#555", align="left").encode(
        text="text:N").properties(width=480, height=40)


def _skeleton(spec: dict) -> str:
    """A spec without its data: two specs with the same skeleton differ only in their datasets and title."""
    names = list(spec.get("datasets", {}))
    text = json.dumps({k: v for k, v in spec.items() if k not in ("datasets", "title")}, sort_keys=True)
    for i, name in enumerate(names):
        text = text.replace(json.dumps(name), f'"dataset-{i}"')
    return text


# ------------------------------------------------------------------------------------------ parameter files
def shedding_parameter_sets(directory=None) -> dict[str, tuple[str, SheddingDefaults, dict]]:
    """Every ``*.yaml`` directly in ``directory`` that the shedding planner's reader accepts.

    Returns ``{path: (label, defaults, document)}`` sorted by file name: the label offered by the picker, the
    validated :class:`~atmp_hta.planners.shedding.SheddingDefaults` and the file's YAML document (what the
    download of the inputs starts from). Files of other planners, and invalid files, are left out.
    """
    out = {}
    for path in sorted(Path(directory if directory is not None else DEFAULTS_DIR).glob("*.yaml")):
        try:
            out[str(path)] = _parameter_set(path)
        except (ValueError, OSError, yaml.YAMLError):
            continue  # not a shedding defaults file: `atmp-hta validate` or the loader says why
    return out


def _parameter_set(path) -> tuple[str, SheddingDefaults, dict]:
    """``(label, defaults, document)`` of a shedding defaults file (the loader raises if it is not one)."""
    path = Path(path)
    defaults = load_shedding_defaults(path)
    return f"{path.stem}: {defaults.name}", defaults, yaml.safe_load(path.read_text(encoding="utf-8"))


def _number(value):
    """A whole float as an int (``21.0`` -> ``21``), so that a written file reads like the bundled ones."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def parameters_yaml(document: dict, inputs: SheddingInputs, file_name: str) -> str:
    """The defaults file ``document`` with the inputs' design values in place, as YAML.

    It loads back with :func:`~atmp_hta.planners.shedding.load_shedding_defaults` (and as the workbook's
    ``defaults_file``) and gives the same plan and precaution period: the plan schedule is listed first (the
    workbook's default plan schedule). A value that differs from the file's is marked ``source: assumption``,
    its note giving the file's value and source; every other entry, and ``sources``, are the file's.
    """
    doc = copy.deepcopy(document)
    design = doc["design"]
    for name in DESIGN_SLIDERS:
        entry, new = design[name], _number(getattr(inputs, name))
        if new != entry["value"]:
            design[name] = {"value": new, "source": ASSUMPTION,
                            "note": f"set in the shedding-planner dashboard; {file_name} gives {entry['value']!r} "
                                    f"(source: {entry['source']})"}
    schedules = design["schedules"]["value"]
    if next(iter(schedules)) != inputs.plan_schedule:
        design["schedules"]["value"] = {inputs.plan_schedule: schedules[inputs.plan_schedule],
                                        **{k: v for k, v in schedules.items() if k != inputs.plan_schedule}}
    return (f"# Shedding-planner inputs from the dashboard: the values of {file_name} with the dashboard's in place.\n"
            "# A value set in the dashboard has `source: assumption`; its note gives the file's value and source.\n"
            "# The first schedule is the plan schedule.\n"
            + dump_yaml(doc))


_NO_DOWNLOAD = '<span class="atmp-shed-note">Fix the inputs to download them.</span>'
_PRESS_SIMULATE = ('<div class="atmp-shed-status">Press <b>Simulate schedules</b> to compare the schedules on many '
                   "simulated studies.</div>")


class SheddingPlannerDashboard(traitlets.HasTraits):
    """Sliders for a planned shedding study; every change re-derives the plan and the precaution period
    through the package, and the schedules are compared by simulation behind a button.

    Parameters
    ----------
    defaults_file : str or Path, optional
        Planner defaults opened first (default: the bundled ``parameters/planners/shedding_aav.yaml``).
    seed : int
        Seed of the simulations and of the clearance percentile (same seed, same numbers).
    n_studies : int
        Simulated studies per schedule offered first (one of 200, 1,000, 5,000).
    directory : str or Path, optional
        Folder whose shedding defaults files the picker lists (default: the bundled ``parameters/planners/``).

    Attributes
    ----------
    current, plan, recommendation, mitigation, comparison, error, parameter_file
        Traits (observe them with ``dashboard.observe(callback, names=...)``): the validated inputs, the study
        plan, the recommended precaution period, its table beside the label periods, the last schedule comparison
        (None until simulated, or after another file is picked), the message of invalid inputs (None when
        valid) and the path of the parameter file in use.
    """

    current = traitlets.Instance(SheddingInputs, allow_none=True)
    plan = traitlets.Instance(StudyPlan, allow_none=True)
    recommendation = traitlets.Instance(PrecautionRecommendation, allow_none=True)
    mitigation = traitlets.Instance(pd.DataFrame, allow_none=True)
    comparison = traitlets.Instance(pd.DataFrame, allow_none=True)
    error = traitlets.Unicode(None, allow_none=True)
    parameter_file = traitlets.Unicode()

    def __init__(self, defaults_file=None, seed: int = 1, n_studies: int = 1000, *, directory=None):
        super().__init__()
        self.seed = seed
        self._sets = shedding_parameter_sets(directory)
        if defaults_file is None and directory is not None and self._sets:
            path = Path(next(iter(self._sets)))
        else:
            path = resolve_defaults_file(defaults_file if defaults_file is not None else "shedding_aav.yaml")
        if str(path) not in self._sets:  # a file outside the folder: offered too (the loader says if it is bad)
            self._sets[str(path)] = _parameter_set(path)
        self._simulated_with = None
        self._done_text = ""
        self._holding = False
        self._built: dict = {}
        style = {"description_width": "190px"}
        layout = widgets.Layout(width="420px")

        self.picker = widgets.Dropdown(options=[(label, p) for p, (label, _, _) in self._sets.items()],
                                       value=str(path), description="Parameter set",
                                       style={"description_width": "100px"}, layout=widgets.Layout(width="660px"))
        self.picker.add_class("atmp-shed-picker")
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="back to the file's values",
                                           layout=widgets.Layout(width="110px"))
        self.reset_button.add_class("atmp-shed-reset")
        self.inputs_download = widgets.HTML()
        self.schedule = widgets.Dropdown(description="Plan schedule", style=style, layout=layout)
        self.sliders = {}
        for name, (label, low, high, step, fmt) in DESIGN_SLIDERS.items():
            if fmt is None:
                slider = widgets.IntSlider(min=low, max=high, step=step, description=label)
            else:
                slider = widgets.FloatSlider(min=low, max=high, step=step, readout_format=fmt, description=label)
            slider.continuous_update = False
            slider.style = style
            slider.layout = widgets.Layout(width="420px")
            slider.add_class(f"atmp-shed-{name.replace('_', '-')}")
            slider.observe(self._on_change, names="value")
            self.sliders[name] = slider
        self.schedule.observe(self._on_change, names="value")

        self.n_studies = widgets.Dropdown(options=STUDY_CHOICES, value=n_studies, description="Simulate",
                                          style={"description_width": "60px"}, layout=widgets.Layout(width="200px"))
        self.n_studies.observe(self._on_change, names="value")
        self.simulate_button = widgets.Button(description="Simulate schedules", icon="play", button_style="primary",
                                              layout=widgets.Layout(width="190px"))
        self.simulate_button.add_class("atmp-simulate")
        self.progress = widgets.IntProgress(value=0, min=0, max=1,
                                            layout=widgets.Layout(width="400px", visibility="hidden"))
        self.status = widgets.HTML(_PRESS_SIMULATE)
        self.header = widgets.HTML()
        self.banner = widgets.HTML()
        self.mitigation_chart = alt.JupyterChart(_placeholder())
        self.comparison_chart = alt.JupyterChart(_placeholder("Press Simulate schedules to compare them."))
        self.comparison_table = widgets.HTML()
        self.plan_view = widgets.HTML()
        self.download = widgets.HTML()
        self.picker.observe(lambda change: self.load(change["new"]), names="value")
        self.reset_button.on_click(lambda _: self.reset())
        self.simulate_button.on_click(lambda _: self.simulate())
        self.load(path)

    # ------------------------------------------------------------------------------------------ state
    def values(self) -> dict:
        """The workbook parameters the widgets describe (names as in ``notebooks/shedding_planner.ipynb``)."""
        return {"plan_schedule": self.schedule.value, **{k: s.value for k, s in self.sliders.items()},
                "n_studies": self.n_studies.value, "seed": self.seed}

    def inputs(self):
        """Validated inputs (widget messages can carry any value): ``ParameterError`` names a bad one."""
        return check_shedding_inputs(self.defaults, defaults_path=str(self.defaults_path), **self.values())

    def _on_change(self, change):
        if not self._holding:
            self.refresh()

    def load(self, path):
        """Open a listed parameter file: every input at its values, the last comparison dropped, one recompute."""
        if self.picker.value != str(path):
            self.picker.value = str(path)  # fires load again: that call does the work
            return
        _, self.defaults, self._document = self._sets[str(path)]
        self.defaults_path = Path(path)
        self.labels = self.defaults.labels_frame()
        self.comparison = None
        self._simulated_with, self._done_text = None, ""
        self.comparison_table.value = ""
        self.status.value = _PRESS_SIMULATE
        self.comparison_chart.chart = _placeholder("Press Simulate schedules to compare them.")
        self._built.pop(id(self.comparison_chart), None)
        self.progress.max = len(self.defaults.schedules())
        self.header.value = (
            STYLE + SHEDDING_STYLE + '<div class="atmp-title">Shedding-study planner</div>'
            '<div class="atmp-subtitle">Plan a vector-shedding study for a viral-vector gene therapy: schedule, '
            "clearance rule and the precaution period it supports. Defaults: "
            f'<span class="atmp-shed-set">{html.escape(self.defaults.name)}</span> '
            f"(<code>{html.escape(self.defaults_path.name)}</code>); every number is computed by "
            "atmp_hta.planners.shedding.</div>")
        self.parameter_file = str(path)
        self._set_inputs()
        self.refresh()

    def reset(self):
        """Every input back to the parameter file's values (one recompute, not one per widget)."""
        self._set_inputs()
        self.refresh()

    def _set_inputs(self):
        """Schedule and sliders at the file's values, without a recompute per widget."""
        design = self.defaults.design
        schedules = list(self.defaults.schedules())
        self._holding = True
        try:
            if list(self.schedule.options) != schedules:
                self.schedule.options = schedules
            self.schedule.value = schedules[0]
            for name, slider in self.sliders.items():
                low, high = DESIGN_SLIDERS[name][1:3]
                value = getattr(design, name).value
                value = int(value) if isinstance(slider, widgets.IntSlider) else float(value)
                set_within(slider, value, low, high)
        finally:
            self._holding = False

    def refresh(self):
        """Re-derive the study plan and the precaution period from the current widget values."""
        try:
            inputs = self.inputs()
            plan = study_plan(inputs.design(), inputs.assays, cost_per_sample=inputs.costs)
            m = inputs.mitigation_matrix
            upper = kinetics_clearance_quantile(inputs.kinetics[m], inputs.assays[m], inputs.risk_percentile,
                                                rng=self.seed)
            rec = recommend_precaution_period(upper, inputs.margin_days, percentile=inputs.risk_percentile, matrix=m,
                                              precaution=precaution_for(m),
                                              basis=f"planning assumptions of {self.defaults_path.name}")
            table = mitigation_table(rec, self.labels)
        except ValueError as exc:  # ParameterError: say what is wrong, keep the last good views
            self.error = str(exc)
            self.banner.value = STYLE + SHEDDING_STYLE + error_banner_html(self.error)
            self.inputs_download.value = _NO_DOWNLOAD
            return
        self.error = None
        self.current, self.plan, self.recommendation, self.mitigation = inputs, plan, rec, table
        self.banner.value = STYLE + SHEDDING_STYLE + mitigation_banner_html(rec, table)
        self._show(self.mitigation_chart, "mitigation", shedding_charts.mitigation_chart(
            table, title=f"Precaution period ({m}): recommended vs labels"))
        self.plan_view.value = plan_html(plan)
        self.download.value = plan_downloads_html(plan)
        stem = self.defaults_path.stem
        self.inputs_download.value = data_link(
            parameters_yaml(self._document, inputs, self.defaults_path.name), f"{stem}-dashboard.yaml",
            "These inputs (YAML)", css="atmp-download-yaml")
        if self.comparison is not None:
            stale = self._simulation_key(inputs) != self._simulated_with
            self.comparison_table.value = comparison_html(self.comparison, planned=inputs.plan_schedule, stale=stale)
            if stale:
                self.status.value = ('<div class="atmp-shed-status stale">Inputs changed since the last simulation: '
                                     "press <b>Simulate schedules</b> again.</div>")
            else:
                self.status.value = self._done_text

    @staticmethod
    def _simulation_key(inputs):
        return tuple(getattr(inputs, k) for k in SIMULATION_INPUTS)

    def _show(self, view, key, chart):
        """Build a chart the first time (or when its structure changes); afterwards swap only its dataset."""
        spec = chart.to_dict()
        built = self._built.get(id(view))
        if built is not None and built[0] == key and len(spec.get("datasets", {})) == 1 \
                and _skeleton(built[1]) == _skeleton(spec):
            (old_name,) = view.spec["datasets"]
            (new_name,) = spec["datasets"]
            view.spec = charts.updated_spec(view.spec, {old_name: pd.DataFrame(spec["datasets"][new_name])},
                                            spec.get("title"))
        else:
            view.chart = chart
        self._built[id(view)] = (key, spec)

    # ----------------------------------------------------------------------------------------- simulation
    def simulate(self):
        """Compare every schedule of the defaults on simulated studies (one schedule per progress step)."""
        try:
            inputs = self.inputs()
        except ValueError as exc:
            self.status.value = f'<div class="atmp-shed-status"><b>Could not run:</b> {html.escape(str(exc))}</div>'
            return None
        n = inputs.n_studies
        self.simulate_button.disabled = True
        self.progress.max = len(inputs.schedules)
        self.progress.value = 0
        self.progress.layout.visibility = "visible"
        started = time.perf_counter()
        parts = []
        try:
            for i, (name, visits) in enumerate(inputs.schedules.items()):
                self.status.value = (f'<div class="atmp-shed-status">Simulating {n:,} studies of {inputs.n_patients} '
                                     f"patients on the <b>{html.escape(name)}</b> schedule …</div>")
                # one schedule at a time with the shared seed: the same numbers as compare_schedules on all of them
                parts.append(compare_schedules({name: visits}, n_studies=n, rng=inputs.seed,
                                               **inputs.comparison_arguments()))
                self.progress.value = i + 1
            summary = pd.concat(parts, ignore_index=True)
        except ValueError as exc:
            self.status.value = f'<div class="atmp-shed-status"><b>Could not run:</b> {html.escape(str(exc))}</div>'
            return None
        finally:
            self.simulate_button.disabled = False
            self.progress.layout.visibility = "hidden"
        self.comparison = summary
        self._simulated_with = self._simulation_key(inputs)
        self._done_text = (f'<div class="atmp-shed-status done" data-studies="{n}">{n:,} studies of '
                           f"{inputs.n_patients} patients per schedule in {time.perf_counter() - started:.1f} s "
                           f"(seed {inputs.seed}; N = {inputs.consecutive}, negatives from day "
                           f"{inputs.rule_start_day:g}, {inputs.p_missing:.0%} missing).</div>")
        self.status.value = self._done_text
        self.comparison_table.value = comparison_html(summary, planned=inputs.plan_schedule)
        chart = shedding_charts.schedule_comparison_chart(
            summary, title=f"Schedules compared ({n:,} studies of {inputs.n_patients} patients)")
        self._show(self.comparison_chart, "comparison", chart.configure_axisX(labelAngle=0))
        return summary

    # ------------------------------------------------------------------------------------------ layout
    def widget(self) -> widgets.Widget:
        def group(text, note=""):
            return widgets.HTML(f'<div class="atmp-shed-group">{text}</div>'
                                + (f'<div class="atmp-shed-note">{note}</div>' if note else ""))

        s = self.sliders
        controls = widgets.VBox([
            group("Study design"),
            self.schedule, s["n_patients"], s["consecutive"], s["rule_start_day"], s["p_missing"],
            group("Precaution period", "Upper percentile of the day shedding patients fall below the assay's "
                  "LOD95 (planning assumptions), plus a margin."),
            s["risk_percentile"], s["margin_days"],
        ], layout=widgets.Layout(width="440px", min_width="440px"))
        plan = widgets.VBox([group("Study plan", "One row per matrix × visit; the plan schedule is chosen on the "
                                   "left."), self.download, self.plan_view])
        top = widgets.HBox([controls, widgets.VBox([self.mitigation_chart, plan], layout=widgets.Layout(
            flex="1 1 auto", min_width="0"))], layout=widgets.Layout(gap="24px"))
        simulate_bar = widgets.HBox([self.n_studies, self.simulate_button, self.progress],
                                    layout=widgets.Layout(align_items="center", gap="10px"))
        comparison = widgets.VBox([
            group("Schedules compared", "Every schedule runs on the same simulated patients (common random "
                  "numbers). Bias: estimated minus true median clearance (first of the N negatives). False "
                  "clearance: N negatives followed by a positive. Rows in bold are per-study totals; the red "
                  "edge marks the plan schedule."),
            simulate_bar, self.status,
            widgets.HBox([self.comparison_chart, self.comparison_table], layout=widgets.Layout(gap="24px")),
        ])
        toolbar = widgets.HBox([self.picker, self.reset_button, self.inputs_download],
                               layout=widgets.Layout(align_items="center", gap="12px"))
        return widgets.VBox([self.header, toolbar, self.banner, top, comparison], layout=widgets.Layout(gap="4px"))
