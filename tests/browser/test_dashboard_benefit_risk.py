"""The benefit-risk dashboard in a real Chromium: the numbers on screen are the package's numbers."""

from __future__ import annotations

import re
import time

import pytest

from atmp_hta.benefit_risk import evaluate
from atmp_hta.params import load_parameters, point_values, with_mean
from atmp_hta.widgets.benefit_risk import SETTING_SLIDERS, css_class
from atmp_hta.widgets.common import catalogue, slider_specs

pytestmark = pytest.mark.browser

PAGE = "/voila/render/benefit_risk.ipynb"
READY_TIMEOUT_MS = 90_000
SEED = 1  # the dashboard's default seed


def first_set():
    return load_parameters(catalogue()[0][1])


def open_dashboard(page, voila_url):
    page.set_viewport_size({"width": 1280, "height": 2000})  # the whole dashboard in one screenshot
    start = time.monotonic()
    page.goto(f"{voila_url}{PAGE}", wait_until="domcontentloaded", timeout=READY_TIMEOUT_MS)
    page.locator(".atmp-banner").wait_for(state="visible", timeout=READY_TIMEOUT_MS)
    page.locator(".vega-embed").first.wait_for(state="visible", timeout=READY_TIMEOUT_MS)
    return time.monotonic() - start


def banner_numbers(page):
    banner = page.locator(".atmp-banner")
    return {
        "decision": banner.get_attribute("data-decision"),
        "net_value": banner.locator(".atmp-net-value").inner_text(),
        "probability": banner.locator(".atmp-probability").inner_text(),
    }


def slider_row(page, name):
    return page.locator(f".{css_class(name)}")


def readout(page, name):
    return slider_row(page, name).locator(".widget-readout").inner_text()


SLIDER_LABELS_JS = """() => Array.from(document.querySelectorAll('.atmp-slider')).map(el => {
  const label = el.querySelector('.widget-label'), track = el.querySelector('.slider-container');
  const l = label.getBoundingClientRect(), t = track.getBoundingClientRect(), box = el.getBoundingClientRect();
  return {text: label.textContent, title: label.title, left: Math.round(l.left), right: Math.round(l.right),
          track: Math.round(t.left), trackWidth: Math.round(t.width),
          middle: Math.round((l.top + l.bottom) / 2 - (t.top + t.bottom) / 2),
          cut: label.scrollWidth > label.clientWidth + 1 || label.scrollHeight > label.clientHeight + 1
               || l.top < box.top - 1 || l.bottom > box.bottom + 1};
})"""


def tree_texts(page):
    return page.evaluate("() => Array.from(document.querySelectorAll('.vega-embed svg text')).map(t => t.textContent)")


def test_dashboard_matches_the_package_and_follows_a_slider(voila_url, page, screenshot, record_property):
    ready = open_dashboard(page, voila_url)
    record_property("page_ready_s", round(ready, 2))
    ps = first_set()

    expected = evaluate(ps, rng=SEED)
    shown = banner_numbers(page)
    assert shown["decision"] == expected.decision
    assert shown["net_value"] == f"{expected.net_value:+.3f}"
    assert page.locator(".vega-embed").count() >= 3  # waterfall, tree, tipping chart
    assert "from atmp_hta" not in page.content()  # sources stripped

    # Every slider's whole label is readable (wrapped, never cut), with a tooltip, in one aligned column.
    labels = page.evaluate(SLIDER_LABELS_JS)
    expected_labels = [spec.label for spec in slider_specs(ps)] + [label for _, label, *_ in SETTING_SLIDERS]
    assert sorted(row["text"] for row in labels) == sorted(expected_labels)
    assert [row["text"] for row in labels if row["cut"]] == []
    assert all(row["title"].startswith(row["text"]) for row in labels)
    assert len({(row["left"], row["right"], row["track"], row["trackWidth"]) for row in labels}) == 1, labels
    assert all(abs(row["middle"]) <= 2 for row in labels), labels  # each label centred on its track

    # A rare harm reads with three significant digits.
    assert readout(page, "p_tcell_malignancy") == f"{point_values(ps)['p_tcell_malignancy'][0]:.3g}" == "0.000833"
    split = {name: f"{point_values(ps)[name][0]:.3f}" for name in ("response.durable", "response.transient",
                                                                   "response.none")}

    # Move the treatment-related death probability up with the keyboard, five steps.
    row = slider_row(page, "p_death")
    handle = row.locator(".noUi-handle")
    handle.focus()
    before = shown["net_value"]
    for _ in range(5):
        handle.press("ArrowRight")
    page.wait_for_function(
        "before => document.querySelector('.atmp-net-value').innerText !== before", arg=before, timeout=30_000
    )
    page.wait_for_timeout(500)  # let the last of the five changes arrive
    readout_value = float(row.locator(".widget-readout").inner_text())
    moved = evaluate(with_mean(ps, "p_death", readout_value), rng=SEED)
    assert readout_value > ps.parameters["p_death"].mean()
    assert banner_numbers(page)["net_value"] == f"{moved.net_value:+.3f}"
    # The response split did not move with it: its sliders and the tree show the file's shares (they once
    # showed 0.390/0.445/0.165 here while the tree drew 0.389/0.444/0.167).
    assert {name: readout(page, name) for name in split} == split
    assert {f"p = {v}" for v in split.values()} <= set(tree_texts(page))

    # Tipping points appear beside the main sliders (computed in the background).
    tip = row.locator(".atmp-tip[data-tipping]")
    tip.wait_for(state="visible", timeout=30_000)
    assert re.match(r"tips at [0-9.]+", tip.inner_text())

    # The explain toggle unfolds every term into its formula.
    page.get_by_role("button", name=re.compile("Explain")).click()
    explain = page.locator("table.atmp-explain")
    explain.wait_for(state="visible", timeout=15_000)
    assert "w_s · w_u · B − H − π" in explain.inner_text()

    # The probabilistic analysis runs behind its button and fills P(net value > 0).
    page.get_by_role("button", name=re.compile("Run probabilistic analysis")).click()
    page.wait_for_function(
        "() => /^[0-9.]+$/.test(document.querySelector('.atmp-probability').innerText)", timeout=60_000
    )
    psa = evaluate(with_mean(ps, "p_death", readout_value), n_draws=100_000, rng=SEED)
    assert banner_numbers(page)["probability"] == f"{psa.probability_net_value_positive:.3f}"

    screenshot(page, "dashboard-benefit-risk")
    assert page.console_log.errors == []


def test_preheated_kernel_serves_the_page_as_make_run_does(tmp_path, browser, screenshot, record_property):
    """`atmp-hta dashboard` (and so `make run`) pre-heats one kernel per dashboard: the page comes from it."""
    from voila_helpers import NOT_LOCAL, ConsoleLog, running_voila

    from atmp_hta.serve import DASHBOARDS_DIR, Culling

    # only this dashboard, so the server warms one kernel, not one per dashboard
    folder = tmp_path / "dashboards"
    folder.mkdir()
    (folder / "benefit_risk.ipynb").write_bytes((DASHBOARDS_DIR / "benefit_risk.ipynb").read_bytes())
    with running_voila(tmp_path / "scratch", Culling(idle_timeout_s=120, interval_s=5), folder, preheat=True) as srv:
        deadline = time.monotonic() + 120
        while "is filled with 1 kernel" not in srv.log_text() and time.monotonic() < deadline:
            time.sleep(1)
        assert "is filled with 1 kernel" in srv.log_text()
        ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
        ctx.route(NOT_LOCAL, lambda route: route.abort())
        page = ctx.new_page()
        page.console_log = ConsoleLog().attach(page)
        try:
            ready = open_dashboard(page, srv.url)
            record_property("preheated_page_ready_s", round(ready, 2))
            assert "Using pre-heated kernel" in srv.log_text()
            assert banner_numbers(page)["net_value"] == f"{evaluate(first_set(), rng=SEED).net_value:+.3f}"
            assert page.console_log.errors == []
        finally:
            ctx.close()
