"""The Chromium a crawl renders pages with, and how Playwright launches it.

Debian's ``chromium`` package, its real binary (``/usr/lib/chromium/chromium``:
``/usr/bin/chromium`` is a script that adds flags of its own), or ``BROWSER_EXECUTABLE``;
Playwright's own browser download (``playwright install``) is never used. Chromium is
started through ``chromium-netns`` (shipped beside this module), which runs it in a
network namespace of its own, fail-closed: the browser has no network, Playwright drives
it over a pipe, and every request of a page is fulfilled through Scrapy's downloader.

Settings read: ``BROWSER_MODE``, ``BROWSER_EXECUTABLE``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from crawler.browser.policy import BrowserMode, browser_mode
from storage.errors import BadInput

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

DEBIAN_CHROMIUM: Final = Path("/usr/lib/chromium/chromium")
WRAPPER: Final = Path(__file__).with_name("chromium-netns")
#: the variable through which the wrapper learns which binary to start
BINARY_ENV: Final = "SCRUBWATCH_CHROMIUM"
#: flags Playwright does not give itself: no QUIC (UDP) and no GPU process
CHROMIUM_ARGS: Final = ("--disable-quic", "--disable-gpu")
#: what the browser keeps of the crawl's environment (Playwright gives it only the ``env``
#: it is handed): where its files, fonts and locale are. Credentials stay out of it.
PASSED_ENV: Final = (
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
    "FONTCONFIG_FILE",
    "FONTCONFIG_PATH",
)


class BrowserMissing(BadInput):
    """No Chromium to render pages with; the message says what to install or set."""


def chromium_binary(executable: str = "") -> Path:
    """The Chromium binary: ``executable`` (a path, or a name looked up in PATH) if given,
    else Debian's; BrowserMissing if it is not an executable file."""
    if executable:
        found = shutil.which(executable) if os.sep not in executable else executable
        path = Path(found or executable)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BrowserMissing(f"BROWSER_EXECUTABLE {executable}: no such executable file")
        return path.resolve()
    if not os.access(DEBIAN_CHROMIUM, os.X_OK):
        raise BrowserMissing(
            "browser capture needs Debian's chromium (apt-get install chromium), "
            "or BROWSER_EXECUTABLE; --browser never crawls without it"
        )
    return DEBIAN_CHROMIUM


def wrapper() -> Path:
    """``chromium-netns``; BrowserMissing if the installation lost its executable bit."""
    if not os.access(WRAPPER, os.X_OK):
        raise BrowserMissing(f"{WRAPPER} is not executable: reinstall scrubwatch")
    return WRAPPER


def check_browser(settings: BaseSettings) -> BrowserMode:
    """The crawl's ``BROWSER_MODE``, checked; unless ``never``, Chromium must be there."""
    mode = browser_mode(settings.get("BROWSER_MODE"))
    if mode != "never":
        chromium_binary(settings.get("BROWSER_EXECUTABLE"))
        wrapper()
    return mode


def launch_options(
    settings: BaseSettings, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """scrapy-playwright's ``PLAYWRIGHT_LAUNCH_OPTIONS``: Chromium through the wrapper.

    Headless; the wrapper is the ``executable_path`` and finds the binary in its
    environment (:data:`BINARY_ENV`), which otherwise keeps only :data:`PASSED_ENV`
    of ``environ``. Playwright adds ``--no-sandbox`` and the flags that keep Chromium
    from calling home (background networking, component updates, sync) itself.
    """
    binary = chromium_binary(settings.get("BROWSER_EXECUTABLE"))
    env = {name: environ[name] for name in PASSED_ENV if name in environ}
    return {
        "executable_path": str(wrapper()),
        "headless": True,
        "args": list(CHROMIUM_ARGS),
        "env": {**env, BINARY_ENV: str(binary)},
    }
