"""Names the reason a request failed, in the crawl log's words, and whether trying again may help.

``write-error``: the page was downloaded but its records could not be written (a
full disk); nothing of it is in the WARC files. ``browser-timeout``, ``browser-crash``,
``browser-error``: the page was fetched and archived, but a browser could not render it.
A request to a host found gone (:mod:`crawler.deadhosts`) takes the kind of the host's
failure (``dns``, ``refused``, ``timeout``) and is ``dead_host`` in the crawl log.
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
from crawler.deadhosts import DeadHostError
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


#: what each kind means, in a few words, where one line names the failures (a crawl that
#: captured no seed); other kinds say their message
REASONS = {
    "dns": "name does not resolve",
    "refused": "connection refused",
    "timeout": "no answer in time",
    "robots": "disallowed by robots.txt",
}


def _exception(failure: Failure | BaseException) -> BaseException | None:
    return failure.value if isinstance(failure, Failure) else failure


def is_dead_host(failure: Failure | BaseException) -> bool:
    """Whether the request was not sent because its host is gone."""
    return isinstance(_exception(failure), DeadHostError)


def is_retryable(kind: str, failure: Failure | BaseException) -> bool:
    """Whether a later crawl should try the URL again (a dead host may be back by then)."""
    return kind in RETRYABLE or is_dead_host(failure)


def reason(kind: str, message: str) -> str:
    """``kind: what it means`` for one line."""
    return f"{kind}: {REASONS.get(kind, message)}"


def classify(failure: Failure | BaseException, url: str) -> tuple[str, str]:
    """(kind, message) for a failed request."""
    exc = _exception(failure)
    message = str(exc) or type(exc).__name__
    if isinstance(exc, DeadHostError):
        return exc.kind, message
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
