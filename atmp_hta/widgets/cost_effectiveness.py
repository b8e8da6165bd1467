"""The cost-effectiveness dashboard: price and threshold sliders over a model file's results.

The sliders move the intervention's price and the willingness to pay; the ICER table, the banner (ICER,
net monetary benefit, probability cost-effective, value-based price at the threshold) and the acceptability
curve follow. Prices are applied with :func:`atmp_hta.hta_model.with_price` (exact: the price is a one-off
cost at time 0), so a slider never re-runs the model. The probabilistic analysis runs behind a button, on
blocks of draws with a progress bar; until then the ICER table is the base case's.
"""

from __future__ import annotations

import html
import time

import altair as alt
import ipywidgets as widgets
import pandas as pd

from atmp_hta.cea import ceac
from atmp_hta.charts import updated_spec
from atmp_hta.charts_cea import ce_plane_chart, ce_plane_tables, ceac_chart, ceac_tables
from atmp_hta.hta_model import cea_summary, evaluate_cea, load_hta_model, with_price
from atmp_hta.widgets.common import STYLE, busy
from atmp_hta.workbooks_cea import wtp_grid

__all__ = ["CostEffectivenessDashboard"]

DEFAULT_MODEL = "axicabtagene_ciloleucel_cea.yaml"
PSA_CHOICES = (("2,000 draws", 2_000), ("10,000 draws", 10_000), ("100,000 draws", 100_000))
BLOCK = 2_000


def _money(v, currency):
    return "—" if pd.isna(v) else f"{currency} {v:,.0f}"


def icer_html(icers: pd.DataFrame, currency: str) -> str:
    """The ICER table as HTML (class ``atmp-icers``; one ``tr`` per strategy with ``data-strategy``)."""
    rows = []
    for r in icers.itertuples():
        rows.append(f'<tr data-strategy="{html.escape(r.strategy)}" data-status="{r.status}">'
                    f"<td>{html.escape(r.strategy)}</td><td>{_money(r.cost, currency)}</td><td>{r.effect:.3f}</td>"
                    f"<td>{_money(r.incremental_cost, currency)}</td>"
                    f'<td>{"—" if pd.isna(r.incremental_effect) else f"{r.incremental_effect:.3f}"}</td>'
                    f'<td class="atmp-icer">{_money(r.icer, currency)}</td><td>{r.status}</td></tr>')
    head = "".join(f"<th>{h}</th>" for h in ("Strategy", "Cost", "QALYs", "Incr. cost", "Incr. QALYs", "ICER",
                                             "Status"))
    return f'<table class="atmp-icers"><tr>{head}</tr>{"".join(rows)}</table>'


def banner_html(row: dict, intervention: str, currency: str, basis: str) -> str:
    """At one threshold: the optimal strategy, its probability cost-effective, the value-based price."""
    ok = row["optimal"] == intervention
    return (f'<div class="atmp-banner {"approve" if ok else "reject"}" data-optimal="{html.escape(row["optimal"])}">'
            f'<span>At {_money(row["threshold"], currency)} per QALY the optimal strategy is '
            f'<b class="atmp-optimal">{html.escape(row["optimal"])}</b></span>'
            f'<span>P(cost-effective) <b class="atmp-pce">{row["probability_cost_effective"]:.3f}</b></span>'
            f'<span>value-based price <b class="atmp-vbp">{_money(row["value_based_price"], currency)}</b></span>'
            f"<span>({html.escape(basis)})</span></div>")


class CostEffectivenessDashboard:
    """Price and threshold sliders bound to a cost-effectiveness model file.

    Parameters
    ----------
    path : str or Path, optional
        Model file (default: the bundled axi-cel model in ``parameters/hta``).
    seed : int
        Seed of the probabilistic analysis (same seed, same numbers).
    """

    def __init__(self, path=None, seed: int = 1):
        self.seed = seed
        self.model = load_hta_model(path or DEFAULT_MODEL)
        self.currency = self.model.currency_code
        self.base_result = evaluate_cea(self.model, 1)
        self.psa_result = None
        i = self.model.intervention
        self.list_price = float(self.base_result.table.loc[self.base_result.table.strategy == i, "price"].iloc[0])
        low, high = self.model.thresholds
        step_price = max(1_000.0, round(self.list_price / 200, -3))
        self.price = widgets.FloatSlider(value=self.list_price, min=0.0, max=max(2 * self.list_price, 1e5),
                                         step=step_price, description=f"Price ({self.currency})",
                                         readout_format=",.0f", continuous_update=False,
                                         style={"description_width": "120px"}, layout=widgets.Layout(width="520px"))
        self.threshold = widgets.FloatSlider(value=high, min=0.0, max=max(200_000.0, 5 * high), step=1_000.0,
                                             description="WTP per QALY", readout_format=",.0f",
                                             continuous_update=False, style={"description_width": "120px"},
                                             layout=widgets.Layout(width="520px"))
        self.price.add_class("atmp-price")
        self.threshold.add_class("atmp-threshold")
        self.banner = widgets.HTML()
        self.icers = widgets.HTML()
        self.conventions = widgets.HTML(
            "<small>" + html.escape(", ".join(f"{k}: {v}" for k, v in self.model.conventions().items())) + "</small>")
        self.psa_draws = widgets.Dropdown(options=PSA_CHOICES, value=10_000, description="PSA",
                                          layout=widgets.Layout(width="260px"))
        self.psa_button = widgets.Button(description="Run probabilistic analysis", icon="play",
                                         button_style="primary", layout=widgets.Layout(width="240px"))
        self.psa_progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="200px",
                                                                                          visibility="hidden"))
        self.psa_status = widgets.HTML("Acceptability curve: run the probabilistic analysis.")
        placeholder = alt.Chart(pd.DataFrame({"t": ["run the probabilistic analysis"]})).mark_text().encode(
            text="t:N").properties(width=480, height=40)
        self.ceac_chart = alt.JupyterChart(placeholder)
        self.plane_chart = alt.JupyterChart(placeholder)
        self.evpi = widgets.HTML()
        self._ceac_spec = None
        self._plane_spec = None
        self.price.observe(lambda _: self.update(), names="value")
        self.threshold.observe(lambda _: self.update(), names="value")
        self.psa_button.on_click(lambda _: self.run_psa())
        self.update()

    # --------------------------------------------------------------------------------------------- views
    @property
    def result(self):
        """The current result (PSA if run, else base case) at the slider's price."""
        return with_price(self.model, self.psa_result or self.base_result, self.price.value)

    def update(self):
        result = self.result
        self.summary = cea_summary(self.model, result, [self.threshold.value])
        basis = f"means of {result.n_draws:,} draws" if result.n_draws > 1 else "base case"
        self.icers.value = STYLE + icer_html(self.summary["icers"], self.currency)
        self.banner.value = STYLE + banner_html(self.summary["by_threshold"].iloc[0].to_dict(),
                                                self.model.intervention, self.currency, basis)
        if self.psa_result is not None:
            grid = wtp_grid(self.threshold.max, [self.threshold.value])
            self.ceac_table = ceac(result.matrix("cost"), result.matrix("effect"), grid, result.strategies)
            if self._ceac_spec is None:
                chart = ceac_chart(self.ceac_table, currency=f"({self.currency})", width=400, height=280)
                self._ceac_spec = chart.to_dict()
                self.ceac_chart.chart = chart
            else:
                tables, title = ceac_tables(self.ceac_table)
                self.ceac_chart.spec = updated_spec(self._ceac_spec, tables)
            icers, wtp = self.summary["icers"], float(self.threshold.value)
            if self._plane_spec is None:
                chart = ce_plane_chart(result.table, icers, wtp, cost_label=f"Cost ({self.currency})",
                                       width=360, height=280)
                self._plane_spec = chart.to_dict()
                self.plane_chart.chart = chart
            else:
                tables, title = ce_plane_tables(result.table, icers, wtp)
                self.plane_chart.spec = updated_spec(self._plane_spec, tables)
            row = self.summary["by_threshold"].iloc[0]
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
            self.psa_result = evaluate_cea(self.model, n, rng=self.seed, block_size=BLOCK, progress=advance)
            self.update()
            self.psa_status.value = f"{n:,} draws in {time.perf_counter() - started:.1f} s (seed {self.seed})"
        return self.psa_result

    def widget(self) -> widgets.Widget:
        header = widgets.HTML(
            STYLE + f'<div class="atmp-title">Cost-effectiveness: {html.escape(self.model.name)}</div>'
            f'<div class="atmp-subtitle">Policy pack {html.escape(self.model.policy)}; move the price or the '
            "threshold: the ICER table, the decision and the acceptability curve follow.</div>")
        psa = widgets.HBox([self.psa_draws, self.psa_button, self.psa_progress],
                           layout=widgets.Layout(align_items="center", gap="8px"))
        charts = widgets.HBox([self.ceac_chart, self.plane_chart], layout=widgets.Layout(gap="16px"))
        return widgets.VBox([header, self.price, self.threshold, self.banner, self.icers, self.conventions, psa,
                             self.psa_status, self.evpi, charts])
