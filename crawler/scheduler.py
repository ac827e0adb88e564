"""Runs the jobs of a jobs file when they are due: once (``run_due``) or in a loop (``daemon``).

A job is due when the first fire time after the last one it consumed has come; a job
that never ran is due at once, so its baseline is captured before anything can be
scrubbed. Each run is an ordinary crawl into the job's store, with the crawl id
``<UTC start YYYYMMDDTHHMMSSZ>-<job>``: unique across jobs sharing a store, and still
sorted by time. After a downtime a job runs once, not once per missed fire time; fire
times that pass while it runs are skipped; a job whose previous run still holds its
lock is skipped with a log line. After a successful run with ``report_dir``, the scrub
report of this crawl against the job's previous successful one is written there.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.alerts import alert_after_run
from crawler.crontab import crontab_lines
from crawler.jobrun import Runner, crawl_subprocess, job_crawl_id, write_report
from crawler.jobs import Job, load_jobs
from crawler.jobstate import (
    FAILED,
    OK,
    RUNNING,
    JobLock,
    JobState,
    load_state,
    load_states,
    save_state,
)

__all__ = [
    "JobRow",
    "RunResult",
    "crontab_lines",
    "daemon",
    "list_jobs",
    "load_jobs",
    "load_states",
    "run_due",
]

logger = logging.getLogger(__name__)

SKIPPED = "skipped"
# The daemon wakes at least this often, so a changed clock (suspend, NTP) is noticed.
MAX_SLEEP = 60.0

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class RunResult:
    job: str
    result: str  # ok, failed or skipped
    crawl_id: str | None = None
    exit_code: int | None = None
    started: datetime | None = None
    ended: datetime | None = None
    report: Path | None = None
    report_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "result": self.result,
            "crawl_id": self.crawl_id,
            "exit_code": self.exit_code,
            "started": self.started.isoformat() if self.started else None,
            "ended": self.ended.isoformat() if self.ended else None,
            "report": str(self.report) if self.report else None,
            "report_error": self.report_error,
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


def next_run(job: Job, state: JobState | None, now: datetime) -> datetime:
    """When ``job`` is next due: ``now`` if it never ran."""
    return now if state is None else job.schedule.next_after(state.scheduled)


def is_due(job: Job, state: JobState | None, now: datetime) -> bool:
    return next_run(job, state, now) <= now


def _run_job(job: Job, clock: Clock, runner: Runner) -> RunResult | None:
    """Run ``job`` if it is due and not running elsewhere; ``None`` if it is not due."""
    with JobLock(job) as lock:
        if not lock.acquired:
            logger.info(
                "job %s: skipped: its previous run is still going (pid %s holds %s)",
                job.name,
                lock.holder_pid or "unknown",
                lock.path,
            )
            return RunResult(job.name, SKIPPED)
        previous = load_state(job)  # again, now that no other run can change it
        started = clock()
        if not is_due(job, previous, started):
            return None
        state = _start(job, previous, started)
        exit_code = _call_runner(job, runner, state.crawl_id)
        ended = clock()
        return _finish(job, state, exit_code, ended)


def _start(job: Job, previous: JobState | None, started: datetime) -> JobState:
    """Record the run as started, so a second scheduler sees it."""
    crawl_id = job_crawl_id(job, started)
    state = JobState(
        scheduled=job.schedule.last_at_or_before(started),
        started=started,
        result=RUNNING,
        crawl_id=crawl_id,
        pid=os.getpid(),
        last_ok_crawl_id=previous.last_ok_crawl_id if previous else None,
    )
    save_state(job, state)
    logger.info("job %s: crawl %s started into %s", job.name, crawl_id, job.store)
    return state


def _call_runner(job: Job, runner: Runner, crawl_id: str) -> int | None:
    try:
        return runner(job, crawl_id)
    except Exception:
        logger.exception("job %s: crawl %s could not be run", job.name, crawl_id)
        return None


def _report(job: Job, last_ok: str | None, crawl_id: str) -> tuple[Path | None, str | None]:
    """The report against the last good crawl, or why there is none."""
    if job.report_dir is None or last_ok is None:
        return None, None
    try:
        return write_report(job, last_ok, crawl_id), None
    except Exception as exc:  # the crawl is stored; a report can be made later
        logger.exception("job %s: no report of %s against %s", job.name, crawl_id, last_ok)
        return None, f"{type(exc).__name__}: {exc}"


def _finish(job: Job, state: JobState, exit_code: int | None, ended: datetime) -> RunResult:
    crawl_id, last_ok = state.crawl_id, state.last_ok_crawl_id
    ok = exit_code == 0
    report, report_error = _report(job, last_ok, crawl_id) if ok else (None, None)
    delivery = alert_after_run(
        job=job.name,
        store_uri=job.store,
        urls=job.notify,
        notify_on=job.notify_on,
        crawl_id=crawl_id,
        ok=ok,
        exit_code=exit_code,
        last_ok=last_ok,
        report=str(report) if report else None,
    )
    save_state(
        job,
        replace(
            state,
            # fire times that passed while it ran are skipped, not caught up
            scheduled=max(state.scheduled, job.schedule.last_at_or_before(ended)),
            ended=ended,
            result=OK if ok else FAILED,
            exit_code=exit_code,
            last_ok_crawl_id=crawl_id if ok else last_ok,
            report=str(report) if report else None,
            report_error=report_error,
            notify_sent=delivery.sent if delivery else 0,
            notify_failed=len(delivery.failed) if delivery else 0,
        ),
    )
    log = logger.info if ok else logger.warning
    log(
        "job %s: crawl %s %s (exit code %s) after %s",
        job.name,
        crawl_id,
        OK if ok else FAILED,
        exit_code,
        ended - state.started,
    )
    return RunResult(
        job.name,
        OK if ok else FAILED,
        crawl_id,
        exit_code,
        state.started,
        ended,
        report,
        report_error,
    )


def _run_due(
    jobs: list[Job], clock: Clock, runner: Runner, stop: threading.Event | None
) -> Iterator[RunResult]:
    for job in jobs:
        if stop is not None and stop.is_set():
            return
        if not is_due(job, load_state(job), clock()):
            continue
        result = _run_job(job, clock, runner)
        if result is not None:
            yield result


def run_due(
    jobs: list[Job], now: datetime, *, runner: Runner = crawl_subprocess
) -> list[RunResult]:
    """Run, one after another, the jobs due at ``now``; skipped ones are in the list too.

    Later jobs start at ``now`` plus the time the earlier ones took.
    """
    if now.tzinfo is None:
        raise ValueError("run_due needs a timezone-aware now")
    start = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - start)

    return list(_run_due(jobs, clock, runner, None))


def daemon(
    jobs: list[Job],
    stop_event: threading.Event,
    *,
    runner: Runner = crawl_subprocess,
    clock: Clock = utc_now,
    max_sleep: float = MAX_SLEEP,
) -> None:
    """Run due jobs one after another until ``stop_event`` is set.

    Between runs it sleeps until the next job is due (at most ``max_sleep`` seconds at a
    time); setting ``stop_event`` wakes it at once, and a running crawl is let finish.
    """
    # A job another process is running waits for its next fire time, not a busy loop.
    waiting: dict[str, datetime] = {}
    by_name = {job.name: job for job in jobs}
    logger.info("scheduler: %d jobs: %s", len(jobs), ", ".join(by_name))
    while not stop_event.is_set():
        now = clock()
        ready = [job for job in jobs if waiting.get(job.name, now) <= now]
        for result in _run_due(ready, clock, runner, stop_event):
            if result.result == SKIPPED:
                waiting[result.job] = by_name[result.job].schedule.next_after(clock())
        now = clock()
        wake = min(
            max(next_run(job, load_state(job), now), waiting.get(job.name, now)) for job in jobs
        )
        stop_event.wait(min(max((wake - clock()).total_seconds(), 0.0), max_sleep))
    logger.info("scheduler: stopped")


@dataclass(frozen=True)
class JobRow:
    """One line of ``scrubwatch schedule list``."""

    name: str
    schedule: str
    last_run: datetime | None
    result: str | None
    crawl_id: str | None
    next_run: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schedule": self.schedule,
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "result": self.result,
            "crawl_id": self.crawl_id,
            "next_run": self.next_run.isoformat(),
        }


def list_jobs(jobs: list[Job], state: Mapping[str, JobState], now: datetime) -> list[JobRow]:
    """Each job with its schedule, last run and result, and next run (``now`` if due)."""
    rows = []
    for job in jobs:
        last = state.get(job.name)
        rows.append(
            JobRow(
                name=job.name,
                schedule=job.schedule.describe(),
                last_run=last.started if last else None,
                result=last.result if last else None,
                crawl_id=last.crawl_id if last else None,
                next_run=max(next_run(job, last, now), now),
            )
        )
    return rows
