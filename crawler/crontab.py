"""Crontab lines that make system cron run the jobs of a jobs file through ``run-due``.

A cron job gets its own expression, after a ``CRON_TZ=<zone>`` line when its zone
differs from the line before's (system cron has no per-line time zone; cronie reads
``CRON_TZ``). Interval jobs share one line, repeating at the largest period a crontab
can express that divides the greatest common divisor of their intervals; intervals are
counted from midnight UTC, so that line is in UTC.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

from crawler.jobs import CronSchedule, IntervalSchedule, Job

# Minutes a crontab line can repeat at, aligned to midnight: divisors of an hour and a day.
_PERIODS = (1440, 720, 480, 360, 240, 180, 120, 60, 30, 20, 15, 12, 10, 6, 5, 4, 3, 2, 1)


def _quote(word: str) -> str:
    # cron turns an unescaped '%' of the command into a newline
    return shlex.quote(word).replace("%", "\\%")


def _repeating(minutes: int) -> str:
    period = next(p for p in _PERIODS if minutes % p == 0)
    if period == 1440:
        return "0 0 * * *"
    if period == 60:
        return "0 * * * *"
    if period > 60:
        return f"0 */{period // 60} * * *"
    return "* * * * *" if period == 1 else f"*/{period} * * * *"


def crontab_lines(jobs: list[Job], jobs_path: str | Path, executable: str) -> list[str]:
    """Lines for ``crontab -e`` running each job through ``EXECUTABLE schedule run-due``."""
    path = Path(jobs_path).resolve()
    run_due = f"{_quote(executable)} schedule run-due --jobs {_quote(str(path))}"
    lines = [f"# scrubwatch jobs of {path}; a CRON_TZ line applies to the lines after it"]
    zone = None
    for job in jobs:
        if isinstance(job.schedule, CronSchedule):
            if job.schedule.timezone != zone:
                zone = job.schedule.timezone
                lines.append(f"CRON_TZ={zone}")
            lines.append(f"{job.schedule.expression} {run_due} {_quote(job.name)}")
    every = [(job.name, job.schedule) for job in jobs if isinstance(job.schedule, IntervalSchedule)]
    if every:
        minutes = math.gcd(*(schedule.seconds // 60 for _, schedule in every))
        if zone != "UTC":
            lines.append("CRON_TZ=UTC")
        names = " ".join(_quote(name) for name, _ in every)
        lines.append(f"{_repeating(minutes)} {run_due} {names}")
    return lines
