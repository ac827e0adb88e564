"""Add-on: with ``BROWSER_MODE`` other than ``never``, pages can be rendered in Chromium.

It puts scrapy-playwright's handler (:class:`~crawler.browser.handler.BrowserHandler`,
one browser a crawl) on ``http`` and ``https`` (requests that are not page renderings
still go through Scrapy's own HTTP handler, which it extends), the router every page
request goes through (:class:`~crawler.browser.route.BrowserRouter`), and the page
slot's concurrency (``BROWSER_PAGES``). With ``never`` nothing of Playwright is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.addon import resolve_setting
from crawler.browser.policy import browser_mode

if TYPE_CHECKING:
    from scrapy.settings import Settings


class BrowserCapture:
    def update_settings(self, settings: Settings) -> None:
        if browser_mode(settings.get("BROWSER_MODE")) == "never":
            return
        from crawler.browser.chromium import launch_options
        from crawler.browser.handler import BrowserHandler
        from crawler.browser.pages import PAGE_SLOT
        from crawler.browser.route import BrowserRouter

        pages = settings.getint("BROWSER_PAGES")
        if pages < 1:
            raise ValueError(f"BROWSER_PAGES must be 1 or more, got {pages}")
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update({"http": BrowserHandler, "https": BrowserHandler})
        resolve_setting(settings, "DOWNLOAD_HANDLERS", handlers)
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions[BrowserRouter] = 50
        resolve_setting(settings, "EXTENSIONS", extensions)
        slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
        # Politeness is the routed requests' (each in its host's slot): this slot only
        # bounds how many pages are open at once.
        slots[PAGE_SLOT] = {"concurrency": pages, "delay": 0, "jitter": 0}
        resolve_setting(settings, "DOWNLOAD_SLOTS", slots)
        timeout_ms = settings.getfloat("BROWSER_PAGE_TIMEOUT") * 1000
        for name, value in {
            "PLAYWRIGHT_BROWSER_TYPE": "chromium",
            "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options(settings),
            "PLAYWRIGHT_MAX_CONTEXTS": 1,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": pages,
            # the route decides every request's headers (Scrapy's, through the engine)
            "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,
            "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_ms,
            "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
        }.items():
            resolve_setting(settings, name, value)
