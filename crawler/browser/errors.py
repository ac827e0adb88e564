"""Why a page could not be rendered; plain exceptions, so that naming a failure does not
import Playwright."""

from __future__ import annotations


class BrowserFailure(Exception):
    """The browser could not render the page (crawl-log kind ``browser-error``)."""


class BrowserTimeout(BrowserFailure):
    """The page did not render within ``BROWSER_PAGE_TIMEOUT`` (``browser-timeout``)."""


class BrowserCrash(BrowserFailure):
    """The browser, or the page's renderer, died while rendering it (``browser-crash``)."""
