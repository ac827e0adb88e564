"""Alerts: one message when a scheduled run finds items scrubbed (or fails), through apprise.

A job's ``notify`` lists apprise URLs (``mailto://``, ``json://``, ``slack://`` ...) and its
``notify_on`` says when they hear from it: ``scrub`` (the default: when the diff against
the job's previous good run has scrubbed items), ``failure`` (those, and a run that
failed), ``always`` (after every run). ``scrubwatch notify`` sends the scrub message of
any two crawls by hand.

Notify URLs hold secrets (tokens, passwords): they are never logged, stored or put in a
report; a URL is named by its position and scheme only (:func:`url_label`), and
apprise's own logging is kept to errors while it sends. A delivery that fails is logged
and counted; it never fails the run. apprise is the optional extra ``scrubwatch[alerts]``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, get_args

from history.diff import diff_crawls
from history.diffresult import Diff
from storage.errors import BadInput
from storage.imported import ImportedCrawls
from storage.stores import Store

logger = logging.getLogger(__name__)

NotifyOn = Literal["scrub", "failure", "always"]
NOTIFY_ON: tuple[NotifyOn, ...] = get_args(NotifyOn)


@dataclass(frozen=True)
class Alert:
    title: str
    body: str


@dataclass(frozen=True)
class Delivery:
    """What sending one alert did: how many URLs took it, and which (by label) did not."""

    sent: int
    failed: list[str]


def url_label(index: int, url: str) -> str:
    """How a notify URL is named in logs and state: its position and scheme, no more."""
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"notify URL {index + 1} ({scheme}://...)"


def scrub_alert(
    diff: Diff,
    store: Store,
    *,
    job: str | None = None,
    report: str | None = None,
) -> Alert:
    """The message of a diff: job, crawl ids, each scrubbed item, the report's path or URL."""
    imported = ImportedCrawls(store)
    who = f" (job {job})" if job else ""
    title = f"scrubwatch: {len(diff.scrubbed)} item(s) scrubbed{who}"
    lines = [
        f"Between crawls {diff.from_id} and {diff.to_id} in {store.uri}{who}:",
        "",
    ]
    for item in diff.scrubbed:
        why = f"{item.why} by {item.by}" if item.by else item.why
        where = item.archived_in or "no crawl"
        source = imported(item.archived_in) if item.archived_in else None
        if source:
            where += f", imported from {source}"
        lines.append(f"- {item.kind}: {item.url}")
        lines.append(f"  page {item.page} ({why}); archived in {where}")
    if report:
        lines += ["", f"Report: {report}"]
    return Alert(title, "\n".join(lines) + "\n")


def failure_alert(job: str, crawl_id: str, exit_code: int | None, store: str) -> Alert:
    return Alert(
        f"scrubwatch: job {job} failed",
        f"Run {crawl_id} of job {job} into {store} failed (exit code {exit_code}).\n",
    )


#: loggers that name a notify URL's host, path or query when sending (urllib3 logs each
#: request line at DEBUG): kept to errors while an alert is sent
_CHATTY = ("apprise", "urllib3", "requests")


@contextmanager
def _quiet_apprise() -> Iterator[None]:
    """Keep apprise and the HTTP libraries under it from logging a URL's secrets."""
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


def check_urls(urls: Sequence[str]) -> None:
    """BadInput naming (by position) a URL apprise does not take, or apprise missing."""
    apprise = _apprise()
    for index, url in enumerate(urls):
        with _quiet_apprise():
            known = apprise.Apprise.instantiate(url) is not None
        if not known:
            raise BadInput(f"{url_label(index, url)} is not an apprise URL it can use")


def _apprise() -> Any:
    try:
        import apprise
    except ImportError as exc:
        raise BadInput("alerts need apprise: pip install 'scrubwatch[alerts]'") from exc
    return apprise


def send(urls: Sequence[str], alert: Alert) -> Delivery:
    """Send ``alert`` to each URL on its own, so one failing does not hide the others."""
    apprise = _apprise()
    sent, failed = 0, []
    for index, url in enumerate(urls):
        label = url_label(index, url)
        with _quiet_apprise():
            target = apprise.Apprise()
            ok = target.add(url) and target.notify(title=alert.title, body=alert.body)
        if ok:
            sent += 1
        else:
            failed.append(label)
            logger.error("alert %r not delivered to %s", alert.title, label)
    return Delivery(sent, failed)


def notify_diff(
    store: Store,
    from_id: str,
    to_id: str,
    urls: Sequence[str],
    *,
    job: str | None = None,
    report: str | None = None,
    always: bool = False,
) -> Delivery | None:
    """Send the scrub message of ``from_id`` -> ``to_id``; None when nothing was scrubbed
    and ``always`` is not asked for."""
    diff = diff_crawls(store, from_id, to_id)
    if not diff.scrubbed and not always:
        return None
    return send(urls, scrub_alert(diff, store, job=job, report=report))


def alert_after_run(
    *,
    job: str,
    store_uri: str,
    urls: Sequence[str],
    notify_on: NotifyOn,
    crawl_id: str,
    ok: bool,
    exit_code: int | None,
    last_ok: str | None,
    report: str | None,
) -> Delivery | None:
    """The alert a scheduled run sends, if any: its scrubs against the job's previous good
    run, its failure when ``notify_on`` asks for failures. Never raises: a run that was
    stored stays a success whatever the alert does."""
    if not urls:
        return None
    try:
        if not ok:
            if notify_on == "scrub":
                return None
            return send(urls, failure_alert(job, crawl_id, exit_code, store_uri))
        if last_ok is None:
            return None  # the baseline: nothing to compare with yet
        from storage.stores import open_existing_store

        store = open_existing_store(store_uri)
        return notify_diff(
            store, last_ok, crawl_id, urls, job=job, report=report, always=notify_on == "always"
        )
    except Exception:
        logger.exception("job %s: the alert after crawl %s could not be made", job, crawl_id)
        return Delivery(0, [url_label(i, url) for i, url in enumerate(urls)])
