"""The surrogate-endpoint planner dashboard in a real Chromium: the sample sizes on screen are the package's."""

from __future__ import annotations

import base64
import re
import time

import pytest

from atmp_hta.planners.surrogate import leadin_sample_size, load_armd, read_planner_parameters, validate_surrogate
from atmp_hta.planners.surrogate.workbook import DEFAULT_PARAMETER_FILE, plan_trial, surrogate_inputs
from atmp_hta.widgets.surrogate import css_class

pytestmark = pytest.mark.browser

PAGE = "/voila/render/surrogate_planner.ipynb"
READY_TIMEOUT_MS = 90_000


def open_dashboard(page, voila_url):
    page.set_viewport_size({"width": 1280, "height": 2300})  # the whole dashboard in one screenshot
    start = time.monotonic()
    page.goto(f"{voila_url}{PAGE}", wait_until="domcontentloaded", timeout=READY_TIMEOUT_MS)
    page.locator(".atmp-n-planned").wait_for(state="visible", timeout=READY_TIMEOUT_MS)
    page.locator(".vega-embed").nth(1).wait_for(state="visible", timeout=READY_TIMEOUT_MS)
    return time.monotonic() - start


def plan_sizes(plan) -> dict[str, int]:
    """The four sizes the cards should show, from the package's plan."""
    return {"primary": plan.n_primary_rounded, "noninferiority": plan.noninferiority.n_patients_exact,
            "superiority": plan.superiority.n_patients_exact, "planned": plan.n_planned}


def shown_sizes(page) -> dict[str, int]:
    return {k: int(page.locator(f".atmp-n-{k}").inner_text())
            for k in ("primary", "noninferiority", "superiority", "planned")}


def test_dashboard_shows_the_package_sizes_and_follows_a_slider(voila_url, page, screenshot, record_property,
                                                                tmp_path):
    ready = open_dashboard(page, voila_url)
    record_property("page_ready_s", round(ready, 2))
    defaults = read_planner_parameters(DEFAULT_PARAMETER_FILE)
    plan = plan_trial(surrogate_inputs(**defaults))
    assert shown_sizes(page) == plan_sizes(plan)
    assert page.locator(".vega-embed").count() == 3  # power curves, predicted bleeding, trial-level surrogacy
    assert page.locator("table.atmp-synopsis tbody tr").count() == len(plan.synopsis)
    assert "from atmp_hta" not in page.content()  # sources stripped
    options = page.locator(".atmp-surrogate-picker select option").all_inner_texts()
    assert [o.replace("\xa0", " ") for o in options] == [  # option labels use nbsp
        "surrogate_haemophilia_b: haemophilia B (AAV-FIX gene therapy, Phase II)"]

    # Move the planning rate ratio up five steps with the keyboard: superiority needs more patients.
    slider = page.locator(f".{css_class('rate_ratio_expected')}")
    handle = slider.locator(".noUi-handle")
    handle.focus()
    before = shown_sizes(page)["superiority"]
    moved_at = time.monotonic()
    for _ in range(5):
        handle.press("ArrowRight")
    page.wait_for_function(
        "before => document.querySelector('.atmp-n-superiority').innerText !== String(before)",
        arg=before, timeout=30_000,
    )
    page.wait_for_timeout(1500)  # let the last of the five changes arrive
    record_property("slider_to_number_s", round(time.monotonic() - moved_at, 2))
    readout = float(slider.locator(".widget-readout").inner_text())
    assert readout == pytest.approx(defaults["rate_ratio_expected"] + 0.05)
    expected = leadin_sample_size(
        defaults["abr_leadin"], readout, defaults["abr_dispersion"], defaults["leadin_years"], defaults["post_years"],
        alpha=defaults["alpha_one_sided"], power=defaults["target_power"], margin=1.0,
    )
    assert shown_sizes(page)["superiority"] == expected.n_patients_exact > before

    # The inputs download as a planner file that the package reads back to the sizes on screen.
    link = page.locator("a.atmp-download-yaml")
    assert link.get_attribute("download") == "surrogate_haemophilia_b-dashboard.yaml"
    path = tmp_path / "inputs.yaml"
    path.write_bytes(base64.b64decode(link.get_attribute("href").split("base64,", 1)[1]))
    values = read_planner_parameters(path)
    assert values["rate_ratio_expected"] == pytest.approx(readout)
    moved = plan_trial(surrogate_inputs(**values))
    assert shown_sizes(page) == plan_sizes(moved)

    # Reset: back to the file's values and sizes.
    page.locator(".atmp-surrogate-reset").click()
    page.wait_for_function(
        "n => document.querySelector('.atmp-n-superiority').innerText === String(n)",
        arg=before, timeout=30_000,
    )
    assert float(slider.locator(".widget-readout").inner_text()) == defaults["rate_ratio_expected"]

    # The simulation check runs behind its button and fills its table.
    page.get_by_role("button", name=re.compile("Check by simulation")).click()
    page.locator("table.atmp-simulation").wait_for(state="visible", timeout=60_000)
    assert page.locator("table.atmp-simulation tbody tr").count() == 2

    # The synopsis downloads as Markdown and as CSV.
    md = page.locator("a.atmp-download-md")
    assert md.get_attribute("download") == "synopsis.md"
    assert md.get_attribute("href").startswith("data:text/markdown;base64,")
    assert page.locator("a.atmp-download-csv").get_attribute("href").startswith("data:text/csv;base64,")

    # The surrogate validation on the ARMD trial: the reduced model's trial-level R² is the package's.
    page.locator("select").filter(has_text="reduced").select_option(label="reduced: common intercept")
    reduced = validate_surrogate(load_armd(), "Diff24", "Diff52", "Treat", "Center", model="reduced")
    r2 = f"{reduced.r2_trial.estimate:.4g}"
    page.wait_for_function(
        "r2 => document.querySelector('tr[data-measure=r2_trial] .atmp-estimate').innerText === r2",
        arg=r2, timeout=30_000,
    )
    assert page.locator("table.atmp-validation tbody tr").count() == 7
    # ... and the trial-level chart follows (its title carries the new R²).
    page.locator(".vega-embed", has_text=f"R² trial = {reduced.r2_trial.estimate:.3f}").wait_for(
        state="visible", timeout=30_000)

    screenshot(page, "dashboard-surrogate")
    assert page.console_log.errors == []
