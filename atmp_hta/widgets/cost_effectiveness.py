"""The cost-effectiveness dashboard: price and threshold sliders over a model file's results.

The sliders move the intervention's price and the willingness to pay; the ICER table, the banner (optimal
strategy, probability cost-effective, value-based price at the threshold) and, once the probabilistic
analysis has run, the acceptability curve, the cost-effectiveness plane and the EVPI follow. Prices are
applied with :func:`atmp_hta.hta_model.with_price` (exact: the price is a one-off cost at time 0), so a slider
never re-runs the model. The probabilistic analysis runs behind a button, on blocks of draws with a progress
bar; until then the ICER table is the base case's and the probability cost-effective is not shown (one
deterministic run says nothing about it).

The dashboard is a :class:`traitlets.HasTraits`: ``model``, ``price``, ``threshold``, ``psa_result`` and
``error`` are typed traits that other code can observe (``dashboard.observe(callback, names="price")``).
"""

from __future__ import annotations

import html
import time
from contextlib import contextmanager
from pathlib import Path

import altair as alt
import ipywidgets as widgets
import pandas as pd
import traitlets

from atmp_hta.cea import ceac
from atmp_hta.charts import updated_spec
from atmp_hta.charts_cea import ce_plane_chart, ce_plane_tables, ceac_chart, ceac_tables
from atmp_hta.hta_model import (
    HTA_DIR,
    CeaResult,
    HtaModel,
    cea_summary,
    evaluate_cea,
    load_hta_model,
    priced_model_yaml,
    with_price,
)
from atmp_hta.widgets.common import STYLE, busy, data_link
from atmp_hta.workbooks_cea import wtp_grid

__all__ = [
    "CostEffectivenessDashboard",
    "model_catalogue",
    "conventions_text",
    "icer_html",
    "banner_html",
]

DEFAULT_MODEL = "axicabtagene_ciloleucel_cea.yaml"
PSA_CHOICES = (("2,000 draws", 2_000), ("10,000 draws", 10_000), ("100,000 draws", 100_000))
BLOCK = 2_000

#: What the ICER table's status column means (dampack's codes, as :func:`atmp_hta.cea.icer_table` gives them).
STATUS_MEANINGS = {
    "ND": "on the efficient frontier (not dominated)",
    "D": "dominated: another strategy costs no more and gains at least as much",
    "ED": "extendedly dominated: a mix of two frontier strategies gains more for the same cost",
}
COUNTING = {"half-cycle": "half-cycle correction", "simpson": "Simpson's rule within cycles",
            "start": "counted at the start of each cycle", "end": "counted at the end of each cycle",
            "none": "no within-cycle correction"}
TIMING = {"continuous": "continuously within cycles", "start": "at the start of each cycle",
          "end": "at the end of each cycle"}

# The ICER table uses the project's `atmp-table` look from common.STYLE, a little wider.
CE_STYLE = """
<style>
table.atmp-icers {margin-top: 6px;} table.atmp-icers td, table.atmp-icers th {padding: 5px 10px;}
.atmp-banner .atmp-hint {font-size: 12px; opacity: 0.9;}
.atmp-legend b {color: #333;}
.atmp-subtitle {line-height: 1.45; margin-bottom: 6px;}
.atmp-legend, .atmp-ce-conventions {line-height: 1.5; max-width: 860px; margin: 2px 2px 6px;}
</style>
"""


# ------------------------------------------------------------------------------------------- model files
def model_catalogue(directory=None) -> list[tuple[str, str]]:
    """(name, path) of every valid model file ``*.yaml`` directly in ``directory`` (default: parameters/hta)."""
    out = []
    for path in sorted(Path(directory or HTA_DIR).glob("*.yaml")):
        try:
            model = load_hta_model(path)
        except ValueError:
            continue  # an invalid file is reported by the command line's validation, not offered here
        out.append((model.name, str(path)))
    return sorted(out)


def download_html(text: str, filename: str) -> str:
    return data_link(text, filename, "Download these inputs (model YAML)")


# ------------------------------------------------------------------------------------------- views (HTML)
def _percent(rate: float) -> str:
    return f"{100 * rate:.4g}%"


def _cycles(length: float) -> str:
    if length == 1:
        return "annual cycles"
    months = 12 * length
    if abs(months - round(months)) < 1e-9 and months < 12:
        return "monthly cycles" if round(months) == 1 else f"{round(months)}-month cycles"
    return f"{length:g}-year cycles"


def conventions_text(model: HtaModel) -> str:
    """The model's conventions as one readable line (from :meth:`HtaModel.conventions`)."""
    c = model.conventions()
    rc, re_ = c["discount_rate_costs"], c["discount_rate_effects"]
    rates = f"{_percent(rc)} costs and effects" if rc == re_ else f"{_percent(rc)} costs, {_percent(re_)} effects"
    agency = model.policy_pack.name.upper()
    case = "reference case" if c["discounting"] == "reference_case" else f"alternative: {c['discounting']}"
    parts = [
        f"Discounting {rates} ({agency} {case}), {TIMING.get(c['timing'], c['timing'])}",
        f"{c['horizon_years']:g}-year horizon, {_cycles(c['cycle_length'])}, {COUNTING.get(c['method'], c['method'])}",
        f"start age {c['start_age']:g}, {100 * c['male_share']:.0f}% male",
        f"one-off costs {c['one_off_costs']}; end-of-life costs {c['end_of_life_cost']}",
        c["currency"],
    ]
    return " · ".join(parts)


def _amount(v) -> str:
    return "—" if pd.isna(v) else f"{v:,.0f}"


def _qalys(v) -> str:
    return "—" if pd.isna(v) else f"{v:,.3f}"


def _money(v, currency):
    return "—" if pd.isna(v) else f"{currency} {v:,.0f}"


def icer_html(icers: pd.DataFrame, currency: str, basis: str = "") -> str:
    """The ICER table as HTML (classes ``atmp-table atmp-icers``; one ``tr`` per strategy with
    ``data-strategy``; the ICER cell has class ``atmp-icer``), with a legend of the status codes."""
    rows = []
    for r in icers.itertuples():
        meaning = STATUS_MEANINGS.get(r.status, r.status)
        rows.append(f'<tr data-strategy="{html.escape(r.strategy)}" data-status="{html.escape(r.status)}">'
                    f"<td>{html.escape(r.strategy)}</td><td class='num'>{_amount(r.cost)}</td>"
                    f"<td class='num'>{_qalys(r.effect)}</td><td class='num'>{_amount(r.incremental_cost)}</td>"
                    f"<td class='num'>{_qalys(r.incremental_effect)}</td>"
                    f"<td class='num atmp-icer'>{_amount(r.icer)}</td>"
                    f'<td class="atmp-status"><abbr title="{html.escape(meaning)}">{html.escape(r.status)}</abbr>'
                    "</td></tr>")
    columns = (("Strategy", False), (f"Cost ({currency})", True), ("QALYs", True), (f"Incr. cost ({currency})", True),
               ("Incr. QALYs", True), (f"ICER ({currency}/QALY)", True), ("Status", False))
    head = "".join(f'<th class="num">{html.escape(h)}</th>' if num else f"<th>{html.escape(h)}</th>"
                   for h, num in columns)
    legend = " · ".join(f"<b>{k}</b> {html.escape(v)}" for k, v in STATUS_MEANINGS.items())
    note = f"{html.escape(basis)}; " if basis else ""
    return (f'<table class="atmp-table atmp-icers"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f'</table><div class="atmp-conventions atmp-legend">{note}increments and ICERs against the next '
            f"cheaper strategy on the frontier.<br>{legend}.</div>")


def banner_html(row: dict, intervention: str, currency: str, basis: str, probabilistic: bool = True) -> str:
    """At one threshold: the optimal strategy, its probability cost-effective (only from a probabilistic
    analysis: "—" otherwise), the value-based price."""
    ok = row["optimal"] == intervention
    if probabilistic:
        pce = f'<b class="atmp-pce">{row["probability_cost_effective"]:.3f}</b>'
    else:
        pce = '<b class="atmp-pce">—</b> <span class="atmp-hint">run the probabilistic analysis</span>'
    return (f'<div class="atmp-banner {"approve" if ok else "reject"}" data-optimal="{html.escape(row["optimal"])}">'
            f'<span>At {_money(row["threshold"], currency)} per QALY the optimal strategy is '
            f'<b class="atmp-optimal">{html.escape(row["optimal"])}</b></span>'
            f"<span>P(cost-effective) {pce}</span>"
            f'<span>value-based price <b class="atmp-vbp">{_money(row["value_based_price"], currency)}</b></span>'
            f"<span>({html.escape(basis)})</span></div>")


def error_html(message: str) -> str:
    return f'<div class="atmp-banner error"><span><b>could not update:</b> {html.escape(message)}</span></div>'


def _placeholder(text="run the probabilistic analysis"):
    return alt.Chart(pd.DataFrame({"t": [text]})).mark_text(fontSize=13, color="#555").encode(
        text="t:N").properties(width=400, height=40)


def _labels_off_points(chart, dx: int = 10, dy: int = -10):
    """The CE plane's strategy labels set off from their points, on a white halo over the cloud of draws.

    ``ce_plane_chart`` draws its labels with a fixed small offset and takes no argument for it; this moves
    them in the finished chart (presentation only: no data changes).
    """
    out = chart.copy(deep=True)
    layers = []
    for layer in out.layer:
        if getattr(layer.mark, "type", layer.mark) != "text":
            layers.append(layer)
            continue
        label = layer.copy(deep=True)
        label.mark.dx, label.mark.dy, label.mark.fontWeight = dx, dy, "bold"
        halo = label.copy(deep=True)
        halo.mark.stroke, halo.mark.strokeWidth, halo.mark.strokeOpacity = "white", 4, 0.85
        halo.mark.strokeJoin = "round"
        layers += [halo, label]
    out.layer = layers
    return out


# ---------------------------------------------------------------------------------------------- widget
class CostEffectivenessDashboard(traitlets.HasTraits):
    """Price and threshold sliders bound to a cost-effectiveness model file.

    Parameters
    ----------
    path : str or Path, optional
        Model file to open first (default: the bundled axi-cel model in ``parameters/hta``).
    directory : str or Path, optional
        Folder of model files the picker lists (default: ``parameters/hta``).
    seed : int
        Seed of the probabilistic analysis (same seed, same numbers).

    Attributes
    ----------
    model : HtaModel
        The loaded model file (trait).
    price, threshold : float
        The intervention's price and the willingness to pay per QALY shown (traits, linked to the sliders
        ``price_slider`` and ``threshold_slider``).
    psa_result : CeaResult or None
        The latest probabilistic analysis, at the file's price (trait; None until it has run).
    error : str
        Why the last update or load failed, or "" (trait).
    """

    model = traitlets.Instance(HtaModel, allow_none=True, help="the loaded model file")
    price = traitlets.Float(0.0, min=0.0, help="the intervention's price, in the model's currency")
    threshold = traitlets.Float(0.0, min=0.0, help="willingness to pay per QALY")
    psa_result = traitlets.Instance(CeaResult, allow_none=True, help="latest probabilistic analysis, or None")
    error = traitlets.Unicode("", help="why the last update or load failed, or ''")

    def __init__(self, path=None, directory=None, seed: int = 1):
        super().__init__()
        self.seed = seed
        self._holding = 0
        options = model_catalogue(directory)
        if path is None:
            path = next((p for _, p in options if Path(p).name == DEFAULT_MODEL), options[0][1] if options else None)
            if path is None:
                raise ValueError(f"no valid model files to show in {directory or HTA_DIR} (check the folder)")
        self.picker = widgets.Dropdown(options=options, value=None, description="Model file",
                                       style={"description_width": "120px"}, layout=widgets.Layout(width="640px"))
        self.header = widgets.HTML()
        self.reset_button = widgets.Button(description="Reset", icon="undo",
                                           tooltip="price and threshold back to the model file's values")
        self.download = widgets.HTML()
        slider = {"continuous_update": False, "readout_format": ",.0f", "style": {"description_width": "120px"},
                  "layout": widgets.Layout(width="520px")}
        self.price_slider = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, description="Price", **slider)
        self.threshold_slider = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=1_000.0,
                                                    description="WTP per QALY", **slider)
        self.price_slider.add_class("atmp-price")
        self.threshold_slider.add_class("atmp-threshold")
        self.banner = widgets.HTML()
        self.icers = widgets.HTML()
        self.conventions = widgets.HTML()
        self.psa_draws = widgets.Dropdown(options=PSA_CHOICES, value=10_000, description="PSA",
                                          layout=widgets.Layout(width="260px"))
        self.psa_button = widgets.Button(description="Run probabilistic analysis", icon="play",
                                         button_style="primary", layout=widgets.Layout(width="240px"))
        self.psa_progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="200px",
                                                                                          visibility="hidden"))
        self.psa_status = widgets.HTML()
        self.ceac_chart = alt.JupyterChart(_placeholder())
        self.plane_chart = alt.JupyterChart(_placeholder())
        self.evpi = widgets.HTML()
        self._ceac_spec = None
        self._plane_spec = None
        with self._hold():
            self.load(path)
            if self.model is None:
                raise ValueError(self.error)
            widgets.link((self.price_slider, "value"), (self, "price"))
            widgets.link((self.threshold_slider, "value"), (self, "threshold"))
        self.observe(self._on_input, names=["price", "threshold", "psa_result"])
        self.picker.observe(self._on_pick, names="value")
        self.reset_button.on_click(lambda _: self.reset())
        self.psa_button.on_click(lambda _: self.run_psa())
        self.update()

    # ------------------------------------------------------------------------------------------ inputs
    @contextmanager
    def _hold(self):
        """Several inputs change; the views are updated once afterwards (by the caller)."""
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1

    def _on_input(self, _change):
        if not self._holding:
            self.update()

    def _on_pick(self, change):
        if change.new is not None and (self.model is None or change.new != self.model._path):
            self.load(change.new)

    def load(self, path):
        """Open a model file: sliders at its values, the probabilistic analysis cleared, one update."""
        try:
            model = load_hta_model(path)
        except ValueError as exc:
            self.error = str(exc)
            self.banner.value = STYLE + error_html(str(exc))
            return
        with self._hold():
            self.model = model
            self.currency = model.currency_code
            self.base_result = evaluate_cea(model, 1)
            table = self.base_result.table
            self.list_price = float(table.loc[table.strategy == model.intervention, "price"].iloc[0])
            high = model.thresholds[-1]
            with self.price_slider.hold_trait_notifications():
                self.price_slider.max = max(2 * self.list_price, 1e5)
                self.price_slider.step = max(1_000.0, round(self.list_price / 200, -3))
                self.price_slider.value = self.list_price
            self.price_slider.description = f"Price ({self.currency})"
            with self.threshold_slider.hold_trait_notifications():
                self.threshold_slider.max = max(200_000.0, 5 * high)
                self.threshold_slider.value = high
            self.price, self.threshold = self.price_slider.value, self.threshold_slider.value
            self.psa_result = None
            self.psa_status.value = "Acceptability curve, CE plane and EVPI: run the probabilistic analysis."
            self.evpi.value = ""
            self.header.value = (
                STYLE + CE_STYLE + f'<div class="atmp-title">Cost-effectiveness: {html.escape(model.name)}</div>'
                f'<div class="atmp-subtitle">Policy pack: {html.escape(model.policy_pack.title)}. Move the price or '
                "the threshold; run the probabilistic analysis for the probability cost-effective, the "
                "acceptability curve, the CE plane and the EVPI.</div>")
            self.conventions.value = ('<div class="atmp-conventions atmp-ce-conventions">'
                                      f"{html.escape(conventions_text(model))}</div>")
            if self._ceac_spec is not None:
                self.ceac_chart.chart = _placeholder()
                self.plane_chart.chart = _placeholder()
            self._ceac_spec = self._plane_spec = None
        if model._path not in [p for _, p in self.picker.options]:
            self.picker.options = [*self.picker.options, (model.name, model._path)]
        self.picker.value = model._path  # the picker shows the file (and loads nothing more: the same file)
        if not self._holding:
            self.update()

    def reset(self):
        """Price and threshold back to the model file's values (one update, not one per slider)."""
        with self._hold():
            self.price_slider.value = self.list_price
            self.threshold_slider.value = self.model.thresholds[-1]
        self.update()

    # --------------------------------------------------------------------------------------------- views
    @property
    def result(self) -> CeaResult:
        """The current result (PSA if run, else base case) at the slider's price."""
        return with_price(self.model, self.psa_result or self.base_result, self.price)

    def update(self):
        """Recompute the summary at the current price and threshold and update every view in place."""
        try:
            result = self.result
            self.summary = cea_summary(self.model, result, [self.threshold])
        except ValueError as exc:
            self.error = str(exc)
            self.banner.value = STYLE + error_html(str(exc))
            return
        self.error = ""
        probabilistic = self.psa_result is not None
        basis = f"means of {result.n_draws:,} draws" if probabilistic else "base case"
        row = self.summary["by_threshold"].iloc[0]
        self.icers.value = STYLE + CE_STYLE + icer_html(self.summary["icers"], self.currency, f"ICER table: {basis}")
        self.banner.value = STYLE + CE_STYLE + banner_html(row.to_dict(), self.model.intervention, self.currency,
                                                           basis, probabilistic)
        stem = Path(self.model._path).stem if self.model._path else "model"
        self.download.value = CE_STYLE + download_html(priced_model_yaml(self.model, self.price, self.threshold),
                                                       f"{stem}-price-{self.price:.0f}.yaml")
        if probabilistic:
            self._update_charts(result, row)

    def _update_charts(self, result, row):
        wtp = float(self.threshold)
        grid = wtp_grid(self.threshold_slider.max, [wtp])
        self.ceac_table = ceac(result.matrix("cost"), result.matrix("effect"), grid, result.strategies)
        if self._ceac_spec is None:
            chart = ceac_chart(self.ceac_table, currency=f"({self.currency})", width=400, height=280)
            self._ceac_spec = chart.to_dict()
            self.ceac_chart.chart = chart
        else:
            tables, _ = ceac_tables(self.ceac_table)
            self.ceac_chart.spec = updated_spec(self._ceac_spec, tables)
        icers = self.summary["icers"]
        if self._plane_spec is None:
            chart = _labels_off_points(ce_plane_chart(result.table, icers, wtp, cost_label=f"Cost ({self.currency})",
                                                      width=360, height=280))
            self._plane_spec = chart.to_dict()
            self.plane_chart.chart = chart
        else:
            tables, _ = ce_plane_tables(result.table, icers, wtp)
            self.plane_chart.spec = updated_spec(self._plane_spec, tables)
        self.evpi.value = (f"EVPI at {self.currency} {row['threshold']:,.0f} per QALY: <b class='atmp-evpi'>"
                           f"{self.currency} {row['evpi']:,.0f}</b> per patient (what perfect information on "
                           "every parameter would be worth)")

    def run_psa(self):
        """Probabilistic analysis behind a button, with a progress bar over blocks of draws."""
        n = int(self.psa_draws.value)
        self.psa_progress.max, self.psa_progress.value = n, 0
        self.psa_status.value = f"sampling and evaluating {n:,} draws …"

        def advance(k):
            self.psa_progress.value = min(n, self.psa_progress.value + k)

        with busy(self.psa_button, self.psa_progress, self.psa_status):
            started = time.perf_counter()
            try:
                result = evaluate_cea(self.model, n, rng=self.seed, block_size=BLOCK, progress=advance)
            except ValueError as exc:
                self.error = str(exc)
                raise
            self.psa_result = result  # observers (and the views) follow
            self.psa_status.value = f"{n:,} draws in {time.perf_counter() - started:.1f} s (seed {self.seed})"
        return self.psa_result

    def widget(self) -> widgets.Widget:
        toolbar = widgets.HBox([self.picker, self.reset_button, self.download],
                               layout=widgets.Layout(align_items="center", gap="12px"))
        psa = widgets.HBox([self.psa_draws, self.psa_button, self.psa_progress],
                           layout=widgets.Layout(align_items="center", gap="8px"))
        charts = widgets.HBox([self.ceac_chart, self.plane_chart], layout=widgets.Layout(gap="16px"))
        return widgets.VBox([self.header, toolbar, self.price_slider, self.threshold_slider, self.banner, self.icers,
                             self.conventions, psa, self.psa_status, self.evpi, charts])
