"""Fixtures of the dashboard tests: a Voilà server, a real Chromium, console and screenshot helpers.

The browser is Debian's ``chromium`` driven by Playwright's sync API; every request that does not go
to the local server is aborted, so the tests run offline and never leak a request. The helpers live in
``voila_helpers.py`` beside this file.
"""

from __future__ import annotations

import shutil

import pytest
from voila_helpers import CHROMIUM_FLAGS, NOT_LOCAL, ConsoleLog, VoilaServer, running_voila, save_screenshot

from atmp_hta.serve import Culling

# Culling used by the shared server: long enough that a slow browser still connects to its kernel.
SHARED_CULLING = Culling(idle_timeout_s=120, interval_s=5)


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory) -> VoilaServer:
    """The dashboards folder served as ``atmp-hta dashboard`` serves it (kernels culled after 120 s)."""
    with running_voila(tmp_path_factory.mktemp("voila"), SHARED_CULLING) as server:
        yield server


@pytest.fixture(scope="session")
def voila_url(voila_server) -> str:
    """Base URL of the shared server, e.g. ``http://127.0.0.1:PORT``."""
    return voila_server.url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright (never a downloaded browser build)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed (`make test` installs it; or `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser):
    """A fresh browser context that aborts every request not addressed to this machine."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.route(NOT_LOCAL, lambda route: route.abort())
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context):
    """A page of the offline context, with its console recorded in ``page.console_log``."""
    pg = context.new_page()
    pg.console_log = ConsoleLog().attach(pg)
    yield pg
    pg.close()


@pytest.fixture
def screenshot():
    """The :func:`save_screenshot` helper, as a fixture."""
    return save_screenshot
