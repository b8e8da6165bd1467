"""The shedding-planner dashboard in a real Chromium: the numbers on screen are the package's numbers."""

from __future__ import annotations

import base64
import re
import time

import pytest

from atmp_hta.planners.shedding import (
    compare_schedules,
    kinetics_clearance_quantile,
    load_shedding_defaults,
    recommend_precaution_period,
)
from atmp_hta.planners.shedding.workbook import shedding_inputs
from atmp_hta.widgets.shedding import COMPARISON_COLUMNS, format_metric

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

PAGE = "/voila/render/shedding_planner.ipynb"
READY_TIMEOUT_MS = 90_000
SEED = 1  # the dashboard's default seed
N_STUDIES = 1000  # the dashboard's default number of simulated studies


def open_dashboard(page, voila_url):
    page.set_viewport_size({"width": 1280, "height": 1800})
    start = time.monotonic()
    page.goto(f"{voila_url}{PAGE}", wait_until="domcontentloaded", timeout=READY_TIMEOUT_MS)
    page.locator(".atmp-banner.plan").wait_for(state="visible", timeout=READY_TIMEOUT_MS)
    page.locator(".vega-embed svg, .vega-embed canvas").first.wait_for(state="visible", timeout=READY_TIMEOUT_MS)
    return time.monotonic() - start


def shown_period(page):
    return page.locator(".atmp-banner .atmp-period").inner_text()


def test_dashboard_matches_the_package_and_follows_a_slider_and_the_button(voila_url, page, screenshot,
                                                                             record_property, tmp_path):
    ready = open_dashboard(page, voila_url)
    record_property("page_ready_s", round(ready, 2))
    print(f"shedding dashboard ready in {ready:.2f} s")
    defaults = load_shedding_defaults()
    d = defaults.design
    upper = kinetics_clearance_quantile(defaults.kinetics()["semen"], defaults.assays()["semen"],
                                        d.risk_percentile.value, rng=SEED)
    assert shown_period(page) == f"{recommend_precaution_period(upper, d.margin_days.value).period_days:g}"
    assert page.locator(".atmp-banner .atmp-upper").inner_text() == f"{upper:.1f}"
    assert "from atmp_hta" not in page.content()  # sources stripped
    assert page.locator("table.atmp-plan tbody tr").count() == 5 * 20
    assert page.locator("a.atmp-download-csv").get_attribute("href").startswith("data:text/csv")
    options = page.locator(".atmp-shed-picker select option").all_inner_texts()
    assert [o.replace("\xa0", " ") for o in options] == [f"shedding_aav: {defaults.name}"]  # labels use nbsp

    # Move the margin up with the keyboard, five steps of one day.
    handle = page.locator(".atmp-shed-margin-days .noUi-handle")
    handle.focus()
    before = page.locator(".atmp-banner .atmp-margin").inner_text()
    for _ in range(5):
        handle.press("ArrowRight")
    page.wait_for_function(
        "m => document.querySelector('.atmp-banner .atmp-margin').innerText === m", arg="35", timeout=30_000)
    readout = float(page.locator(".atmp-shed-margin-days .widget-readout").inner_text())
    assert readout == 35 and before == "30"
    assert shown_period(page) == f"{recommend_precaution_period(upper, readout).period_days:g}"

    # The inputs download as a defaults file that the planner reads back with the moved margin.
    page.wait_for_function("() => atob(document.querySelector('a.atmp-download-yaml').href.split(',')[1])"
                           ".includes('value: 35')", timeout=30_000)
    link = page.locator("a.atmp-download-yaml")
    assert link.get_attribute("download") == "shedding_aav-dashboard.yaml"
    path = tmp_path / "shedding_aav-dashboard.yaml"
    path.write_bytes(base64.b64decode(link.get_attribute("href").split("base64,", 1)[1]))
    inputs = shedding_inputs(defaults_file=str(path), seed=SEED)
    assert inputs.margin_days == 35 and load_shedding_defaults(path).design.margin_days.source == "assumption"

    # Reset puts the margin back to the file's value.
    page.locator(".atmp-shed-reset").click()
    page.wait_for_function(
        "m => document.querySelector('.atmp-banner .atmp-margin').innerText === m", arg="30", timeout=30_000)
    assert page.locator(".atmp-shed-margin-days .widget-readout").inner_text() == "30"
    assert shown_period(page) == f"{recommend_precaution_period(upper, d.margin_days.value).period_days:g}"

    # The simulation runs behind its button and fills the comparison table with the package's numbers.
    page.locator(".atmp-simulate").click()
    page.locator(".atmp-shed-status.done").wait_for(state="visible", timeout=120_000)
    expected = compare_schedules(
        defaults.schedules(), n_patients=d.n_patients.value, matrices=d.matrices.value, kinetics=defaults.kinetics(),
        assays=defaults.assays(), n_studies=N_STUDIES, consecutive=d.consecutive.value, missing=d.missing.value,
        stop_at_clearance=d.stop_at_clearance.value, p_missing=d.p_missing.value,
        rule_start_day=d.rule_start_day.value, cost_per_sample=defaults.costs(), rng=SEED)
    rows = page.locator("table.atmp-comparison tbody tr")
    assert rows.count() == len(expected)
    for row in expected.to_dict(orient="records"):
        tr = page.locator(f'table.atmp-comparison tr[data-schedule="{row["schedule"]}"][data-matrix="{row["matrix"]}"]')
        for column in COMPARISON_COLUMNS:
            assert tr.locator(f'td[data-col="{column}"]').inner_text() == format_metric(column, row[column])
    page.wait_for_function("() => document.querySelectorAll('.vega-embed').length >= 2"
                           " && /Schedules compared/.test(document.body.innerText)", timeout=30_000)
    assert re.search(r"1,000 studies of 40 patients per schedule", page.locator(".atmp-shed-status").inner_text())

    page.wait_for_timeout(500)  # let the comparison chart finish drawing before the picture
    screenshot(page, "dashboard-shedding")
    assert page.console_log.errors == []
