"""Real-browser fixtures: the real portal served over HTTP by waitress, driven by Playwright in Debian's Chromium.

One server (a copy of the content-loaded test database, with the real index) and one browser per session keep the
browser part fast. The server runs in a thread of the test process, so tests can create users through the real
services (``workflow.helpers.add_user``) and read the maildir. axe-core comes from npm (``npm ci``, package.json).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from conftest import Site
from waitress import create_server

from browser.prerequisites import AXE_JS, CHROMIUM, missing

#: Chromium switches for a quiet, deterministic headless run (no update checks, no background traffic).
CHROMIUM_ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_finish(session):
    """A selected browser test without Chromium or axe-core stops the run at once, with one line saying why."""
    if any(item.get_closest_marker("browser") for item in session.items):
        message = missing()
        if message:
            pytest.exit(message, returncode=4)


class LiveServer:
    """The portal on 127.0.0.1:<free port>, served by waitress in a daemon thread."""

    def __init__(self, site_builder):
        self._app = None
        # Bind first (port 0: the system picks a free port), then build the app with that address as base_url, so
        # the sitemap and redirects point at this server.
        self.server = create_server(self._call, host="127.0.0.1", port=0, threads=4,
                                    ident="portal-browser-tests", clear_untrusted_proxy_headers=True)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.site: Site = site_builder(self.url)
        self._app = self.site.app
        self.thread = threading.Thread(target=self.server.run, name="waitress-browser-tests", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/gezondheid", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the portal did not answer on {self.url}/gezondheid within 30 s")
            time.sleep(0.05)

    def _call(self, environ, start_response):
        return self._app(environ, start_response)

    def close(self) -> None:
        self.server.close()
        self.thread.join(5)
        self.site.close()


@pytest.fixture(scope="session")
def live_server(database_factory, tmp_path_factory) -> Iterator[LiveServer]:
    url = database_factory.copy()
    workdir = tmp_path_factory.mktemp("browser_site")

    def build(base_url: str) -> Site:
        return Site(url, workdir, database_factory.index_template, **{"portal.base_url": base_url})

    server = LiveServer(build)
    yield server
    server.close()
    database_factory.drop(url)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def new_page(chromium, live_server):
    """Open pages in fresh browser contexts (own cookies: one per person in a story); all closed after the test.
    CSP is bypassed only so that axe can be injected: the portal itself needs no JavaScript."""
    contexts = []

    def make():
        context = chromium.new_context(base_url=live_server.url, bypass_csp=True,
                                       viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context (no cookies)."""
    return new_page()
