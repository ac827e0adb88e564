"""``scrubwatch schedule``: recurring crawls from a jobs file (see :mod:`crawler.scheduler`)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from crawler.cli.base import echo_json_line, main, one_line_errors
from storage.errors import BadInput

jobs_option = click.option(
    "--jobs",
    "jobs_path",
    default="scrubwatch.toml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The jobs file (TOML).",
)


@main.group()
def schedule() -> None:
    """Recurring crawls: list jobs, run what is due, run a daemon, print crontab lines."""


@schedule.command("list")
@jobs_option
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object a job.")
@one_line_errors
def list_command(jobs_path: str, as_json: bool) -> None:
    """Each job, its schedule, its last run and result, and its next run."""
    from crawler.jobstate import load_states
    from crawler.scheduler import list_jobs, load_jobs, utc_now

    jobs = load_jobs(jobs_path)
    for row in list_jobs(jobs, load_states(jobs), utc_now()):
        if as_json:
            echo_json_line(row.to_dict())
            continue
        last = row.last_run.strftime("%Y-%m-%dT%H:%M:%SZ") if row.last_run else "never"
        click.echo(
            f"{row.name:24} {row.schedule:28} last {last} ({row.result or '-'})  "
            f"next {row.next_run.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )


@schedule.command("run-due")
@jobs_option
@click.argument("names", nargs=-1)
@one_line_errors
def run_due_command(jobs_path: str, names: tuple[str, ...]) -> None:
    """Run the jobs that are due now (all, or the NAMES given), then exit: for system cron.

    Prints JSON Lines: one object a run.
    """
    from crawler.scheduler import load_jobs, run_due, utc_now

    jobs = load_jobs(jobs_path)
    unknown = sorted(set(names) - {job.name for job in jobs})
    if unknown:
        raise BadInput(f"{jobs_path}: no job named {', '.join(unknown)}")
    chosen = [job for job in jobs if not names or job.name in names]
    results = run_due(chosen, utc_now())
    for result in results:
        echo_json_line(result.to_dict())
    if any(r.result == "failed" for r in results):
        sys.exit(1)


@schedule.command()
@jobs_option
@one_line_errors
def daemon(jobs_path: str) -> None:
    """Run the jobs in this process until stopped (SIGTERM or Ctrl-C lets a crawl finish)."""
    from crawler.scheduler import daemon as run_daemon
    from crawler.scheduler import load_jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    jobs = load_jobs(jobs_path)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("stopping after the running crawl (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_daemon(jobs, stop)


@schedule.command()
@jobs_option
@click.option(
    "--executable",
    default=None,
    help="The scrubwatch to call (default: the one running now).",
)
@one_line_errors
def crontab(jobs_path: str, executable: str | None) -> None:
    """Print crontab lines that run the jobs through `schedule run-due`."""
    from crawler.crontab import crontab_lines
    from crawler.scheduler import load_jobs

    jobs = load_jobs(jobs_path)
    program = executable or str(Path(sys.argv[0]).resolve())
    for line in crontab_lines(jobs, Path(jobs_path).resolve(), program):
        click.echo(line)
