"""Browser capture: pages that script builds, rendered in Chromium, every request of theirs
fetched through Scrapy's downloader.

``policy`` decides which pages are rendered (``BROWSER_MODE``, the script-built rule);
``chromium`` finds the browser and says how Playwright launches it, in a network
namespace of its own. Neither imports Playwright.
"""

from __future__ import annotations

from crawler.browser.chromium import (
    BrowserMissing,
    check_browser,
    chromium_binary,
    launch_options,
)
from crawler.browser.policy import (
    BROWSER_MODES,
    BrowserMode,
    browser_mode,
    looks_script_built,
    wants_browser,
)

__all__ = [
    "BROWSER_MODES",
    "BrowserMissing",
    "BrowserMode",
    "browser_mode",
    "check_browser",
    "chromium_binary",
    "launch_options",
    "looks_script_built",
    "wants_browser",
]
