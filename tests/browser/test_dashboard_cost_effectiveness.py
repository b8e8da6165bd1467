"""The cost-effectiveness dashboard in a real Chromium: the numbers on screen are the package's numbers."""

from __future__ import annotations

import re
import time

import pytest

from atmp_hta.hta_model import cea_summary, evaluate_cea, load_hta_model, with_price

pytestmark = pytest.mark.browser

PAGE = "/voila/render/cost_effectiveness.ipynb"
READY_TIMEOUT_MS = 90_000
SEED = 1  # the dashboard's default seed


def icer_shown(page, strategy):
    return page.locator(f'.atmp-icers tr[data-strategy="{strategy}"] .atmp-icer').inner_text()


def test_dashboard_matches_the_package_and_follows_the_sliders(voila_url, page, screenshot, record_property):
    page.set_viewport_size({"width": 1280, "height": 1600})
    start = time.monotonic()
    page.goto(f"{voila_url}{PAGE}", wait_until="domcontentloaded", timeout=READY_TIMEOUT_MS)
    page.locator(".atmp-banner").wait_for(state="visible", timeout=READY_TIMEOUT_MS)
    record_property("page_ready_s", round(time.monotonic() - start, 2))
    model = load_hta_model("axicabtagene_ciloleucel_cea.yaml")
    base = evaluate_cea(model, 1)

    expected = cea_summary(model, base, [30_000])
    icer = expected["icers"].set_index("strategy").loc["axi-cel", "icer"]
    assert icer_shown(page, "axi-cel") == f"{icer:,.0f}"
    assert page.locator(".atmp-optimal").inner_text() == expected["by_threshold"]["optimal"].iloc[0]
    # one deterministic run gives no probability cost-effective; the status codes are explained on the page
    assert page.locator(".atmp-pce").inner_text() == "—"
    assert "run the probabilistic analysis" in page.locator(".atmp-banner").inner_text()
    assert "ED extendedly dominated" in page.locator(".atmp-legend").inner_text()
    numbers = page.locator('.atmp-icers tr[data-strategy="axi-cel"] td.num').first
    assert numbers.evaluate("e => getComputedStyle(e).textAlign") == "right"
    assert "from atmp_hta" not in page.content()

    # Type a price into the price slider's readout: the ICER follows.
    readout = page.locator(".atmp-price .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("50000")
    page.keyboard.press("Enter")
    moved = cea_summary(model, with_price(model, base, 50_000), [30_000])
    want = moved["icers"].set_index("strategy").loc["axi-cel", "icer"]
    page.wait_for_function("want => document.querySelector('.atmp-icers tr[data-strategy=\"axi-cel\"] .atmp-icer')"
                           ".innerText === want", arg=f"{want:,.0f}", timeout=30_000)
    assert page.locator(".atmp-optimal").inner_text() == "axi-cel"

    # The probabilistic analysis runs behind its button; then the acceptability curve is drawn.
    page.get_by_role("button", name=re.compile("Run probabilistic analysis")).click()
    page.wait_for_function("() => /draws in/.test(document.body.innerText)", timeout=60_000)
    page.locator(".vega-embed").first.wait_for(state="visible", timeout=30_000)
    psa = with_price(model, evaluate_cea(model, 10_000, rng=SEED), 50_000)
    row = cea_summary(model, psa, [30_000])["by_threshold"].iloc[0]
    page.wait_for_function("want => document.querySelector('.atmp-pce').innerText === want",
                           arg=f"{row['probability_cost_effective']:.3f}", timeout=30_000)

    screenshot(page, "dashboard-cost-effectiveness")
    href = page.locator("a.atmp-download").get_attribute("href")
    assert href.startswith("data:application/x-yaml;base64,")

    # Reset: the file's price again, and the ICER of the package at that price.
    page.get_by_role("button", name="Reset").click()
    back = cea_summary(model, evaluate_cea(model, 10_000, rng=SEED), [30_000])
    want = back["icers"].set_index("strategy").loc["axi-cel", "icer"]
    page.wait_for_function("want => document.querySelector('.atmp-icers tr[data-strategy=\"axi-cel\"] .atmp-icer')"
                           ".innerText === want", arg=f"{want:,.0f}", timeout=30_000)
    assert page.console_log.errors == []
