"""The benefit-risk dashboard: a parameter-set picker, sliders, a decision banner and its charts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import altair as alt
import ipywidgets as widgets
import pandas as pd
from traitlets import Float, HasTraits, Instance, Int, TraitError, Unicode, observe, validate

from atmp_hta import charts
from atmp_hta.benefit_risk import BenefitRiskResult, evaluate, main_parameters, net_value_curve, tipping_points
from atmp_hta.params import ParameterSet, Settings, load_parameters, point_values, with_mean
from atmp_hta.trees import tree_table
from atmp_hta.widgets.common import STYLE, SliderSpec, busy, catalogue, download_link, make_slider, slider_specs
from atmp_hta.widgets.views import banner_html, conventions_html, error_banner_html, explain_html, tipping_html

__all__ = ["BenefitRiskDashboard"]

PSA_CHOICES = (("10,000 draws", 10_000), ("100,000 draws", 100_000), ("1,000,000 draws", 1_000_000))
#: Two values closer than this are the same value (a Dirichlet's shares carry rounding errors of ~1e-16).
SAME = 1e-12
SETTING_SLIDERS = (
    # (setting, label, low, high, step)
    ("discount_rate", "Discount rate", 0.0, 0.1, 0.005),
    ("risk_aversion", "Risk aversion (CARA r per QALY)", 0.0, 5.0, 0.05),
    ("max_uplift", "Unmet-need max uplift", 0.0, 1.0, 0.01),
)


def css_class(name: str) -> str:
    """CSS class of a parameter's slider row (``response.durable`` -> ``atmp-param-response-durable``)."""
    return "atmp-param-" + name.replace(".", "-").replace("_", "-")


def _replaced(parameter_set: ParameterSet, **update) -> ParameterSet:
    """A copy with some fields replaced that no longer claims the file's hashes (as ``with_mean`` does)."""
    out = parameter_set.model_copy(update=update)
    out.__dict__.pop("sha256", None)  # a cached_property: model_copy would carry the old content's hash
    out._file_sha256 = None
    return out


def _placeholder(text=""):
    return alt.Chart(pd.DataFrame({"text": [text]})).mark_text(fontSize=13, color="#555").encode(
        text="text:N").properties(width=480, height=40)


class BenefitRiskDashboard(HasTraits):
    """Sliders bound to a parameter set; every change re-evaluates the decision through the package.

    Its observable state is held in typed traits (``observe`` them from other code): :attr:`path` (the
    parameter file shown; set it to switch product), :attr:`current` (the parameter set the sliders
    describe), :attr:`result` (its base-case evaluation), :attr:`error` (why the inputs cannot be evaluated,
    or None), :attr:`psa_result` and :attr:`tipping`. The traits of one change are notified together, once
    every view shows it.

    Every slider shows the value the model uses. A Dirichlet split (say durable / transient / no response)
    changes only when one of its components is moved: that component takes the slider's value, its
    siblings share the rest in their former proportions (:func:`atmp_hta.params.with_mean`), and their
    sliders are set to exactly those shares, not rounded to the slider's step (the step only sets how far a
    key press or a drag moves a handle). Moving any other slider leaves the split alone. The moved
    component's own slider keeps the value given, which the model's share equals up to rounding (1e-12);
    where it does not (a component at 0 keeps a floor of 1e-9 of the total), the slider is set to the share.

    Parameters
    ----------
    path : str or Path, optional
        Parameter file to open first (default: the first of the bundled examples).
    directory : str or Path, optional
        Folder listed by the picker (default: the bundled ``parameters/``).
    seed : int
        Seed for the uncertainty penalty's sample and the probabilistic analysis (same seed, same numbers).
    tipping_delay : float
        Seconds of calm after a change before tipping points are recomputed (0: at once).
    """

    path = Unicode(help="The parameter file shown: one of the picker's options. Setting it switches product.")
    current = Instance(ParameterSet, allow_none=True, help="The parameter set the sliders describe.")
    result = Instance(BenefitRiskResult, allow_none=True, help="Base-case evaluation of ``current``.")
    error = Unicode(None, allow_none=True,
                    help="Why the sliders' inputs cannot be evaluated (the banner's message), or None.")
    psa_result = Instance(BenefitRiskResult, allow_none=True,
                          help="The last probabilistic analysis of ``current`` (None once an input moves).")
    tipping = Instance(pd.DataFrame, allow_none=True, help="Tipping points of the main parameters.")
    seed = Int(1, help="Seed of the uncertainty penalty's sample and of the probabilistic analysis.")
    tipping_delay = Float(0.3, help="Seconds of calm after a change before tipping points are recomputed.")

    def __init__(self, path=None, directory=None, seed: int = 1, tipping_delay: float = 0.3):
        super().__init__()
        self.seed = seed
        self.tipping_delay = tipping_delay
        self._options = catalogue(directory)
        if path is not None and str(path) not in [p for _, p in self._options]:
            self._options.append((load_parameters(path).product.name, str(path)))
        if not self._options:
            raise ValueError("no valid parameter files to show (check the parameters folder)")
        self._generation = 0
        self._syncing = False
        self._built: dict = {}
        self._pending = None

        self.picker = widgets.Dropdown(options=self._options, value=str(path or self._options[0][1]),
                                       description="Product", layout=widgets.Layout(width="520px"))
        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="back to the file's values")
        self.explain_toggle = widgets.ToggleButton(description="Explain", icon="graduation-cap", value=False,
                                                   tooltip="unfold every number into its formula")
        self.download = widgets.HTML()
        self.banner = widgets.HTML()
        self.conventions = widgets.HTML()
        self.explain = widgets.HTML(layout=widgets.Layout(display="none"))
        self.sliders: dict[str, widgets.FloatSlider] = {}
        self.tips: dict[str, widgets.HTML] = {}
        self.setting_sliders: dict[str, widgets.FloatSlider] = {}
        self.controls = widgets.VBox(layout=widgets.Layout(width="650px", min_width="650px"))
        self.waterfall = alt.JupyterChart(_placeholder())
        self.tree = alt.JupyterChart(_placeholder())
        self.tipping_picker = widgets.Dropdown(description="Tipping point of", layout=widgets.Layout(width="480px"),
                                              style={"description_width": "110px"})
        self.tipping_chart = alt.JupyterChart(_placeholder())
        self.psa_draws = widgets.Dropdown(options=PSA_CHOICES, value=100_000, description="PSA",
                                          layout=widgets.Layout(width="260px"))
        self.psa_button = widgets.Button(description="Run probabilistic analysis", icon="play",
                                         button_style="primary", layout=widgets.Layout(width="240px"))
        self.psa_progress = widgets.IntProgress(value=0, min=0, max=3, description="",
                                                layout=widgets.Layout(width="200px", visibility="hidden"))
        self.psa_status = widgets.HTML()
        self.histogram = alt.JupyterChart(_placeholder())

        self.picker.observe(self._on_pick, names="value")
        self.reset_button.on_click(lambda _: self._load(self.picker.value))
        self.explain_toggle.observe(self._on_explain, names="value")
        self.tipping_picker.observe(lambda _: self._update_tipping_chart(), names="value")
        self.psa_button.on_click(lambda _: self.run_psa())
        self.path = self.picker.value  # loads it

    @validate("path")
    def _valid_path(self, proposal):
        value, known = proposal["value"], [p for _, p in self._options]
        if value not in known:
            raise TraitError(f"The 'path' of BenefitRiskDashboard must be one of the picker's files {known}. "
                             f"Got {value!r}.")
        return value

    @observe("path")
    def _path_changed(self, change):
        self.picker.value = change["new"]  # a no-op when the picker made the change
        self._load(change["new"])

    # ------------------------------------------------------------------------------------------ building
    def _load(self, path):
        self._loaded = getattr(self, "_loaded", 0) + 1
        self.base = load_parameters(path)
        self.current = self.base
        specs = slider_specs(self.base)
        self.specs = {s.name: s for s in specs}
        main = self.main_parameters()
        self.sliders, self.tips = {}, {}
        rows = []
        for group in ("Efficacy", "Outcomes", "Harms", "Population"):
            members = [s for s in specs if s.group == group]
            if not members:
                continue
            rows.append(widgets.HTML(f'<div class="atmp-group">{group}</div>'))
            for spec in members:
                slider = make_slider(spec)
                slider.observe(self._on_slider, names="value")
                tip = widgets.HTML(tipping_html(None) if spec.name in main else "",
                                   layout=widgets.Layout(width="170px"))
                self.sliders[spec.name] = slider
                self.tips[spec.name] = tip
                row = widgets.HBox([slider, tip])
                row.add_class("atmp-row")
                row.add_class(css_class(spec.name))
                rows.append(row)
        rows.append(widgets.HTML('<div class="atmp-group">Policy and conventions</div>'))
        self.setting_sliders = {}
        for key, label, low, high, step in SETTING_SLIDERS:
            value = getattr(self.base.settings, key)
            slider = make_slider(SliderSpec(key, label, "setting", value, low, max(high, value), step, "Policy"))
            slider.observe(self._on_slider, names="value")
            self.setting_sliders[key] = slider
            rows.append(slider)
        self.controls.children = rows
        self.tipping_picker.options = [(self.specs[n].label, n) for n in main]
        self.tipping_picker.value = main[0] if main else None
        self.psa_result = None
        self.psa_status.value = ""
        self.histogram.chart = _placeholder("Run the probabilistic analysis to see P(net value > 0) over draws")
        self._built.pop(id(self.histogram), None)
        self.refresh()

    def main_parameters(self) -> list[str]:
        """Parameters whose tipping points are shown beside their sliders."""
        specs = getattr(self, "specs", {})
        return [n for n in main_parameters(self.base) if n in specs]

    # ------------------------------------------------------------------------------------------ callbacks
    def _on_pick(self, change):
        self.path = change["new"]

    def _on_slider(self, change):
        if not self._syncing:
            self.refresh(moved=change["owner"])

    def _on_explain(self, change):
        self.explain.layout.display = "block" if change["new"] else "none"
        if change["new"] and self.result is not None:
            self.explain.value = explain_html(self.result)

    # ------------------------------------------------------------------------------------------ state
    def inputs(self) -> ParameterSet:
        """The parameter set the sliders describe (validated: slider messages can carry any value).

        A slider that differs from the parameter's point value moves it with ``with_mean``. Every parameter
        starts from the file, except a Dirichlet split, which starts from its current state: its sliders show
        that state, so the only component that differs from it is the one just moved, and the split ends where
        the chain of ``with_mean`` calls in the order of the moves ends.
        """
        carried = {n: p for n, p in self.current.parameters.items()
                   if p.dirichlet is not None and p != self.base.parameters[n]}
        ps = _replaced(self.base, parameters={**self.base.parameters, **carried}) if carried else self.base
        points = point_values(ps)
        for name, slider in self.sliders.items():
            if abs(slider.value - float(points[name][0])) > SAME:
                ps = with_mean(ps, name, slider.value)
        settings = Settings.model_validate(
            {**self.base.settings.model_dump(), **{k: s.value for k, s in self.setting_sliders.items()}}
        )
        return ps if settings == ps.settings else _replaced(ps, settings=settings)

    def refresh(self, moved=None):
        """Re-evaluate with the current slider values and update every view (``moved``: the slider moved)."""
        with self.hold_trait_notifications():  # observers hear of the change once every view shows it
            self._refresh(moved)

    def _refresh(self, moved):
        self._generation += 1
        try:
            ps = self.inputs()
            result = evaluate(ps, n_draws=1, rng=self.seed)
        except ValueError as exc:  # ParameterError / ModelError: say what is wrong, keep the inputs
            self.error = str(exc)
            self.banner.value = STYLE + error_banner_html(self.error)
            return
        self.current, self.result, self.error = ps, result, None
        self._sync_dirichlet(moved)
        if self.psa_result is not None:
            self.psa_result = None
            self.psa_status.value = "<i>inputs changed: run the probabilistic analysis again</i>"
        self.banner.value = STYLE + banner_html(result)
        self.conventions.value = conventions_html(result)
        self._show(self.waterfall, "waterfall", charts.net_value_waterfall, charts.waterfall_tables, (result,),
                   {"width": 380, "height": 200})
        self._show(self.tree, "tree", charts.tree_chart, charts.tree_tables, (tree_table(ps, point_values(ps)),),
                   {"width": 430})
        if self.explain_toggle.value:
            self.explain.value = explain_html(result)
        stem = Path(self.picker.value).stem
        self.download.value = download_link(ps, f"{stem}-scenario.yaml")
        self._schedule_tipping()

    def _sync_dirichlet(self, moved):
        """After a Dirichlet component moved, set its siblings' sliders to the shares now used (exactly, not
        rounded to their step), without re-triggering. Any other move leaves every Dirichlet slider alone."""
        name = next((n for n, s in self.sliders.items() if s is moved), None)
        if name is None or "." not in name or self.current.parameters[name.split(".")[0]].dirichlet is None:
            return
        split = name.split(".")[0] + "."
        points = point_values(self.current)
        self._syncing = True
        try:
            for other, slider in self.sliders.items():
                if not other.startswith(split):
                    continue
                used = float(points[other][0])
                # the moved handle stays where it was put unless the share used is not that value (at an end)
                if (abs(slider.value - used) > SAME) if other == name else (slider.value != used):
                    slider.value = used
        finally:
            self._syncing = False

    def _show(self, view, key, build, tables, args, sizes):
        """Build a chart the first time (or when its structure changes); afterwards swap only its data."""
        if self._built.get(id(view)) == (key, self._loaded):
            data, title = tables(*args)
            view.spec = charts.updated_spec(view.spec, data, title)
        else:
            chart, before = build(*args, **sizes), view.spec
            view.chart = chart
            if view.spec is before:
                # An equal chart fires no change (traitlets compares), so the spec would keep data swapped
                # in since that chart was set (e.g. Reset after moving a slider shows the moved tree).
                view.spec = chart.to_dict()
            self._built[id(view)] = (key, self._loaded)

    # ------------------------------------------------------------------------------------- tipping points
    def _schedule_tipping(self):
        """Recompute tipping points once the sliders have been still for ``tipping_delay`` seconds.

        In a running kernel this is done on the kernel's own event loop, one parameter per step, so widget
        messages (a further slider move) are handled in between and every widget is touched from the
        kernel's thread only. Without a running loop (scripts, tests) it is done at once.
        """
        generation = self._generation
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self.tipping_delay <= 0:
            self.compute_tipping()
            return
        self._pending = loop.call_later(self.tipping_delay, self._tipping_step, loop, generation,
                                        self.main_parameters(), [])

    def _tipping_step(self, loop, generation, remaining, rows):
        if generation != self._generation:
            return
        name = remaining[0]
        row = tipping_points(self.current, [name], rng=self.seed).iloc[0].to_dict()
        rows.append(row)
        self.tips[name].value = self._tip_html(row)
        if remaining[1:]:
            self._pending = loop.call_soon(self._tipping_step, loop, generation, remaining[1:], rows)
        else:
            self._pending = None
            self.tipping = pd.DataFrame(rows)
            self._update_tipping_chart()

    def compute_tipping(self):
        """Tipping points of the main parameters for the current inputs, at once."""
        table = tipping_points(self.current, self.main_parameters(), rng=self.seed)
        self.tipping = table
        for row in table.to_dict(orient="records"):
            if row["parameter"] in self.tips:
                self.tips[row["parameter"]].value = self._tip_html(row)
        self._update_tipping_chart()
        return table

    def _tip_html(self, row):
        """The note beside a slider, "near" measured on the slider's own range (narrower for a rare harm)."""
        spec = self.specs[row["parameter"]]
        return tipping_html(row, spec.low, spec.high)

    def _update_tipping_chart(self):
        name = self.tipping_picker.value
        if name is None or self.tipping is None:
            return
        row = self.tipping.set_index("parameter").loc[name].to_dict()
        row["value"] = None if row["value"] != row["value"] else row["value"]
        curve = net_value_curve(self.current, name, points=41, rng=self.seed)
        self._show(self.tipping_chart, f"tipping:{name}", charts.tipping_chart, charts.tipping_tables,
                   (curve, row, row["current"], self.specs[name].label), {"width": 420, "height": 180})

    # ------------------------------------------------------------------------------------------- PSA
    def run_psa(self):
        """Probabilistic analysis behind a button, with a progress indicator."""
        n = int(self.psa_draws.value)
        self.psa_progress.value = 1
        self.psa_status.value = f"sampling and evaluating {n:,} draws …"
        with busy(self.psa_button, self.psa_progress, self.psa_status):
            started = time.perf_counter()
            result = evaluate(self.current, n_draws=n, rng=self.seed)
            self.psa_progress.value = 2
            self.psa_result = result
            self._show(self.histogram, "histogram", charts.net_value_histogram, charts.histogram_tables, (result,),
                       {"width": 420, "height": 180})
            self.banner.value = STYLE + banner_html(self.result, psa=result)
            self.psa_progress.value = 3
            self.psa_status.value = (f"{n:,} draws in {time.perf_counter() - started:.1f} s · mean net value "
                                     f"{result.net_value:+.3f} · P(net value &gt; 0) = "
                                     f"{result.probability_net_value_positive:.3f}")
        return self.psa_result

    # ------------------------------------------------------------------------------------------ layout
    def widget(self) -> widgets.Widget:
        header = widgets.HTML(
            STYLE + '<div class="atmp-title">Benefit–risk of an advanced therapy</div>'
            '<div class="atmp-subtitle">Move a slider: the decision, its terms and the tipping points follow. '
            "All numbers are QALYs per patient, computed by atmp_hta.</div>"
        )
        toolbar = widgets.HBox([self.picker, self.reset_button, self.explain_toggle, self.download],
                               layout=widgets.Layout(align_items="center", gap="8px"))
        right = widgets.VBox([
            self.waterfall, self.tree,
            self.tipping_picker, self.tipping_chart,
            widgets.HBox([self.psa_draws, self.psa_button, self.psa_progress],
                         layout=widgets.Layout(align_items="center", gap="8px")),
            self.psa_status, self.histogram,
        ])
        body = widgets.HBox([self.controls, right], layout=widgets.Layout(gap="16px"))
        return widgets.VBox([header, toolbar, self.banner, self.conventions, self.explain, body])
