"""Looking captures up in a public web archive, and fetching their original bytes.

Two lookups, both from a configurable endpoint so that any pywb- or OpenWayback-based
archive works: a CDX server (``ARCHIVE_CDX_URL``: the Wayback Machine's
``/cdx/search/cdx?output=json``, an array of arrays after a header row, paged with
``showResumeKey``; pywb's ``/<coll>/cdx?output=json``, one object a line) and a Memento
TimeMap (``ARCHIVE_TIMEMAP_URL``, RFC 7089 ``application/link-format``). A capture's
bytes come from the archive's raw mode (``<timestamp>id_``), which answers with the
original status, headers and payload.

The client is polite: one request at a time (a lock), ``delay`` seconds between two
requests, and on 429 or 503 it waits what ``Retry-After`` says (at most
``max_wait``) before trying again, ``retries`` times. It logs URLs without their
user info or query secrets (:func:`redact_url`).

Plain Python (urllib), no Scrapy: the values of ``ARCHIVE_*`` are passed in.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from http.client import HTTPResponse
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from storage.errors import StoreError

logger = logging.getLogger(__name__)

#: statuses that ask a client to come back later
_BUSY = (429, 503)
#: headers an archive adds to a replayed capture, which the original response had not
_ARCHIVE_HEADERS = frozenset(
    {"memento-datetime", "link", "preference-applied", "content-location", "server-timing"}
)
_ORIG_PREFIX = "x-archive-orig-"
_TIMESTAMP_IN_URL = re.compile(r"/(\d{14})(?:[a-z]{2}_)?/")
_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[A-Za-z-]+\s*=\s*(?:"[^"]*"|[^;,<]*))*)')
_PARAM = re.compile(r'([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^;,<]*))')


class ArchiveError(StoreError):
    """The archive could not be asked, or did not answer in a form we read."""


@dataclass(frozen=True)
class Memento:
    """One capture an archive holds: what URL, when (14 digits, UTC), and where to get it."""

    url: str
    timestamp: str
    memento_url: str  # the archive's replay of it, named on the imported record
    status: int | None = None
    mime: str = ""
    digest: str = ""

    @property
    def raw_url(self) -> str:
        """The capture's original bytes: the archive's ``id_`` mode."""
        return raw_url(self.memento_url)

    @property
    def datetime(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True)
class RawCapture:
    """A capture as the archive's raw mode returns it: original status, headers, payload."""

    memento: Memento
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    date: datetime  # Memento-Datetime, else the lookup's timestamp


def raw_url(memento_url: str) -> str:
    """``.../20260101000000/http://x/`` -> ``.../20260101000000id_/http://x/``."""
    match = _TIMESTAMP_IN_URL.search(memento_url)
    if match is None:
        raise ArchiveError(f"memento URL {redact_url(memento_url)} has no 14-digit timestamp")
    return f"{memento_url[: match.start()]}/{match[1]}id_/{memento_url[match.end() :]}"


def redact_url(url: str) -> str:
    """``url`` fit for a log: no user info, and no query values (tokens live there)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join(f"{p.split('=', 1)[0]}=..." for p in parts.query.split("&") if p)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def timestamp14(value: str) -> str:
    """``2026-11-25``, ``2026-11-25T10:00:00Z`` or digits -> 14 digits (missing ones 0)."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) < 4:
        raise ValueError(f"{value!r} is not a date: use YYYY[-MM-DD[THH:MM:SSZ]]")
    return digits[:14].ljust(14, "0")


def parse_cdx_json(text: str) -> tuple[list[dict[str, str]], str | None]:
    """Rows of a CDX server's JSON answer, and the resume key for the next page, if any.

    The Wayback Machine's form is one array of arrays whose first row names the fields;
    with ``showResumeKey`` an empty row then a one-value row (the key) end it. pywb's
    form is JSON Lines, one object per capture (``status`` for ``statuscode``).
    """
    text = text.strip()
    if not text:
        return [], None
    if text.startswith("["):
        try:
            table = json.loads(text)
        except ValueError as exc:
            raise ArchiveError(f"CDX answer is not JSON: {exc}") from exc
        if not table:
            return [], None
        header, *rows = table
        resume = None
        if len(rows) >= 2 and rows[-2] == [] and len(rows[-1]) == 1:
            resume, rows = str(rows[-1][0]), rows[:-2]
        return [dict(zip(header, map(str, row), strict=False)) for row in rows if row], resume
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ArchiveError(f"CDX answer line is not JSON: {line[:80]!r}") from exc
        rows.append({str(k): str(v) for k, v in row.items()})
    return rows, None


def parse_timemap(text: str) -> list[tuple[str, datetime]]:
    """The mementos of a link-format TimeMap: (memento URL, its datetime), oldest first."""
    found = []
    for match in _LINK.finditer(text):
        params = {
            m[1].lower(): m[2] if m[2] is not None else m[3].strip()
            for m in _PARAM.finditer(match[2])
        }
        if "memento" not in params.get("rel", "").split() or "datetime" not in params:
            continue
        try:
            moment = parsedate_to_datetime(params["datetime"])
        except (TypeError, ValueError):
            continue
        found.append((match[1], moment.astimezone(UTC)))
    return sorted(found, key=lambda pair: pair[1])


def _status(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def original_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers the original response had: an archive's own ones dropped, and the
    ``X-Archive-Orig-*`` ones (the Wayback Machine's) given back their names."""
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower.startswith(_ORIG_PREFIX):
            kept.append((name[len(_ORIG_PREFIX) :], value))
        elif lower not in _ARCHIVE_HEADERS and not lower.startswith("x-archive-"):
            kept.append((name, value))
    return kept


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a capture of a redirect is the redirect itself


Opener = Callable[[urllib.request.Request, float], HTTPResponse]


def _open(request: urllib.request.Request, timeout: float) -> HTTPResponse:
    opener = urllib.request.build_opener(_NoRedirects)
    response: HTTPResponse = opener.open(request, timeout=timeout)
    return response


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Message
    body: bytes


class ArchiveClient:
    """Lookups and raw fetches against one archive, one request at a time.

    ``cdx_url`` or ``timemap_url`` (a prefix the URL is appended to) chooses the lookup;
    ``replay_url`` (a prefix ``<timestamp>/<url>`` is appended to) names mementos found
    through the CDX server. ``page_size``: CDX rows asked for per page (``limit``).
    """

    def __init__(
        self,
        *,
        cdx_url: str | None = None,
        timemap_url: str | None = None,
        replay_url: str | None = None,
        delay: float = 1.0,
        retries: int = 3,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        page_size: int = 1000,
        user_agent: str = "scrubwatch",
        opener: Opener = _open,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not cdx_url and not timemap_url:
            raise ValueError("an archive needs a CDX server or a TimeMap endpoint")
        if cdx_url and not replay_url:
            raise ValueError(f"CDX server {redact_url(cdx_url)} needs a replay URL")
        if delay < 0 or retries < 0:
            raise ValueError(f"delay and retries must be 0 or more: {delay}, {retries}")
        self.cdx_url = cdx_url
        self.timemap_url = timemap_url
        self.replay_url = replay_url
        self.delay = delay
        self.retries = retries
        self.max_wait = max_wait
        self.timeout = timeout
        self.page_size = page_size
        self.user_agent = user_agent
        self.opener = opener
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self._lock = threading.Lock()
        self._last = float("-inf")

    @property
    def name(self) -> str:
        """The archive as the imported crawl names it (its endpoint, secrets removed)."""
        return redact_url(self.cdx_url or self.timemap_url or "")

    def _get(self, url: str, accept: str = "*/*") -> _Answer:
        request = urllib.request.Request(
            url, headers={"User-Agent": self.user_agent, "Accept": accept}
        )
        with self._lock:
            for attempt in range(self.retries + 1):
                wait = self._last + self.delay - self.clock()
                if wait > 0:
                    self.sleep(wait)
                self.requests += 1
                try:
                    try:
                        with self.opener(request, self.timeout) as response:
                            answer = _Answer(response.status, response.headers, response.read())
                    except urllib.error.HTTPError as exc:
                        answer = _Answer(exc.code, exc.headers, exc.read())
                except OSError as exc:
                    raise ArchiveError(f"archive request {redact_url(url)} failed: {exc}") from exc
                finally:
                    self._last = self.clock()
                busy = answer.status in _BUSY and "Memento-Datetime" not in answer.headers
                if not busy or attempt == self.retries:
                    return answer
                pause = self._retry_after(answer.headers.get("Retry-After"), attempt)
                logger.info(
                    "archive busy (%d) on %s: waiting %.1fs", answer.status, redact_url(url), pause
                )
                self.sleep(pause)
        raise AssertionError("unreachable")

    def _retry_after(self, value: str | None, attempt: int) -> float:
        seconds = float(2**attempt)
        if value:
            value = value.strip()
            if value.isdigit():
                seconds = float(value)
            else:
                with contextlib.suppress(TypeError, ValueError):
                    seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        return min(max(seconds, 0.0), self.max_wait)

    def _ok(self, answer: _Answer, url: str, what: str) -> str:
        if answer.status == 404:
            return ""  # pywb's TimeMap and CDX say "none" so
        if answer.status != 200:
            raise ArchiveError(f"{what} {redact_url(url)} answered {answer.status}")
        return answer.body.decode("utf-8", "replace")

    def cdx_rows(
        self, url: str, since: str | None = None, until: str | None = None
    ) -> Iterator[dict[str, str]]:
        """Every CDX row of ``url``, page after page."""
        assert self.cdx_url is not None
        params = {
            "url": url,
            "output": "json",
            "limit": str(self.page_size),
            "showResumeKey": "true",
        }
        if since:
            params["from"] = since
        if until:
            params["to"] = until
        resume: str | None = None
        while True:
            query = {**params, **({"resumeKey": resume} if resume else {})}
            ask = f"{self.cdx_url}{'&' if '?' in self.cdx_url else '?'}{urlencode(query)}"
            rows, resume = parse_cdx_json(self._ok(self._get(ask), ask, "CDX lookup"))
            yield from rows
            if not resume:
                return

    def captures(
        self, url: str, since: str | None = None, until: str | None = None
    ) -> list[Memento]:
        """The captures of ``url`` between ``since`` and ``until`` (14 digits, inclusive),
        oldest first, one per run of the same payload (collapsed by digest)."""
        found = self._cdx(url, since, until) if self.cdx_url else self._timemap(url)
        collapsed: list[Memento] = []
        for memento in sorted(found, key=lambda m: m.timestamp):
            if (since and memento.timestamp < since) or (until and memento.timestamp > until):
                continue  # a server that does not take from= and to= is filtered here
            if collapsed and memento.digest and collapsed[-1].digest == memento.digest:
                continue
            collapsed.append(memento)
        return collapsed

    def _cdx(self, url: str, since: str | None, until: str | None) -> list[Memento]:
        assert self.replay_url is not None
        found = []
        for row in self.cdx_rows(url, since, until):
            original, timestamp = row.get("original") or row.get("url"), row.get("timestamp", "")
            if not original or not timestamp.isdigit():
                continue
            status = _status(row.get("statuscode") or row.get("status"))
            mime = row.get("mimetype") or row.get("mime") or ""
            if mime == "warc/revisit":
                status = status or None
            found.append(
                Memento(
                    url=original,
                    timestamp=timestamp[:14].ljust(14, "0"),
                    memento_url=f"{self.replay_url}{timestamp}/{original}",
                    status=status,
                    mime=mime,
                    digest=row.get("digest", ""),
                )
            )
        return found

    def _timemap(self, url: str) -> list[Memento]:
        assert self.timemap_url is not None
        ask = self.timemap_url + quote(url, safe=":/?&=%#~+,;@!$'()*")
        text = self._ok(self._get(ask, "application/link-format"), ask, "TimeMap")
        found = []
        for memento_url, moment in parse_timemap(text):
            timestamp = moment.strftime("%Y%m%d%H%M%S")
            found.append(Memento(url=url, timestamp=timestamp, memento_url=memento_url))
        return found

    def fetch(self, memento: Memento) -> RawCapture:
        """The capture's original status, headers and bytes, from the raw (``id_``) mode."""
        answer = self._get(memento.raw_url)
        headers = list(answer.headers.items())
        date = memento.datetime
        if (stamp := answer.headers.get("Memento-Datetime")) is not None:
            with contextlib.suppress(TypeError, ValueError):
                date = parsedate_to_datetime(stamp).astimezone(UTC)
        elif answer.status in _BUSY or answer.status == 404:
            raise ArchiveError(f"{memento.raw_url} answered {answer.status}: no such memento")
        return RawCapture(memento, answer.status, original_headers(headers), answer.body, date)
