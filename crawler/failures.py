"""Names the reason a request failed, in the crawl log's words, and whether trying again may help.

``write-error``: the page was downloaded but its records could not be written (a
full disk); nothing of it is in the WARC files. ``browser-timeout``, ``browser-crash``,
``browser-error``: the page was fetched and archived, but a browser could not render it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from crawler.browser.errors import BrowserCrash, BrowserFailure, BrowserTimeout
from crawler.middlewares.ssrf import BlockedRequest
from crawler.resolver import blocked_hosts
from pipelines.warcfile import WarcWriteError

KINDS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((BlockedRequest,), "blocked"),
    ((CannotResolveHostError, DNSLookupError), "dns"),
    ((DownloadConnectionRefusedError, ConnectionRefusedError), "refused"),
    ((DownloadTimeoutError, TimeoutError, TCPTimedOutError), "timeout"),
    ((DownloadCancelledError,), "too-large"),
    ((ResponseDataLossError,), "data-loss"),
    ((UnsupportedURLSchemeError,), "unsupported"),
    ((DownloadFailedError,), "connection"),
    ((WarcWriteError,), "write-error"),
    ((BrowserTimeout,), "browser-timeout"),
    ((BrowserCrash,), "browser-crash"),
    ((BrowserFailure,), "browser-error"),
)
#: kinds of failure that may well not happen again: a later crawl should try these URLs
RETRYABLE = frozenset(
    {
        "timeout",
        "refused",
        "connection",
        "data-loss",
        "write-error",
        "browser-timeout",
        "browser-crash",
    }
)


def classify(failure: Failure | BaseException, url: str) -> tuple[str, str]:
    """(kind, message) for a failed request."""
    exc = failure.value if isinstance(failure, Failure) else failure
    message = str(exc) or type(exc).__name__
    for types, kind in KINDS:
        if isinstance(exc, types):
            if kind == "dns":
                host = urlsplit(url).hostname or ""
                reason = blocked_hosts.get(host)
                if reason:
                    return "blocked", f"blocked: {reason}"
            return kind, message
    if isinstance(exc, IgnoreRequest):
        return ("robots" if "robots.txt" in message else "ignored"), message
    return "error", f"{type(exc).__name__}: {message}"
