"""The landing page, rendered by Voilà in a real Chromium."""

from __future__ import annotations

import time

import pytest

from atmp_hta.serve import DASHBOARDS, DASHBOARDS_DIR

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

PAGE_READY_TIMEOUT_MS = 60_000


def test_index_lists_the_dashboards(voila_url, page, screenshot, record_property):
    start = time.monotonic()
    page.goto(f"{voila_url}/voila/render/index.ipynb", wait_until="domcontentloaded")
    index = page.locator(".atmp-index")
    index.wait_for(state="visible", timeout=PAGE_READY_TIMEOUT_MS)
    ready_s = time.monotonic() - start
    record_property("page_ready_s", round(ready_s, 2))
    print(f"index page ready in {ready_s:.2f} s")

    assert "dashboards" in index.locator("h2").inner_text().lower()
    items = index.locator("ul.atmp-dashboards > li")
    assert items.count() == len(DASHBOARDS)
    for item, entry in zip(items.all(), DASHBOARDS, strict=True):
        text = item.inner_text()
        assert entry.title in text and entry.summary in text
        links = item.locator("a")
        if (DASHBOARDS_DIR / entry.notebook).is_file():
            assert links.get_attribute("href") == entry.notebook
            # The relative link resolves to the dashboard's own Voilà page.
            target = links.evaluate("a => a.href")
            assert target == f"{voila_url}/voila/render/{entry.notebook}"
        else:
            assert links.count() == 0 and "not installed" in text

    # Sources are stripped: no code cell input reaches the page.
    assert "from atmp_hta.serve import" not in page.content()
    assert page.locator(".jp-InputArea-editor, .jp-CodeMirrorEditor").count() == 0

    screenshot(page, "dashboard-index")
    assert page.console_log.errors == []

    # A click opens the first installed dashboard (its own test checks what it shows).
    installed = [e for e in DASHBOARDS if (DASHBOARDS_DIR / e.notebook).is_file()]
    if installed:
        index.locator(f'a[href="{installed[0].notebook}"]').click()
        page.wait_for_url(f"{voila_url}/voila/render/{installed[0].notebook}", wait_until="commit")


def test_console_log_catches_errors(page):
    """The console helper does report a page's own errors (so an empty list above means something)."""
    page.set_content("<script>console.error('boom'); setTimeout(() => { throw new Error('bang') });</script>")
    page.wait_for_timeout(200)
    errors = page.console_log.errors
    assert any("boom" in e for e in errors) and any("bang" in e for e in errors)
