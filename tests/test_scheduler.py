"""Recurring crawls: which jobs run when, their state and locks, the daemon, crontab lines,
and one end-to-end pair of runs over the local cited web."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.jobrun import crawl_command
from crawler.jobs import Job, JobsError, load_jobs
from crawler.jobstate import JobLock, load_state, save_state, state_path
from crawler.localweb import LocalWeb
from crawler.scheduler import (
    JobRow,
    RunResult,
    crontab_lines,
    daemon,
    list_jobs,
    load_states,
    run_due,
)

T0 = datetime(2030, 1, 7, 0, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
JOBS = """
[jobs.hourly]
seeds = ["https://example.org/a"]
store = "archive"
schedule = { every = "1h" }

[jobs.nightly]
seeds = ["https://example.org/b"]
store = "archive"
schedule = { cron = "0 3 * * *", timezone = "Europe/Berlin" }
"""
# Holds a job's lock in another process until killed.
HOLD_LOCK = """
import sys, time
from crawler.jobs import load_jobs
from crawler.jobstate import JobLock
job = next(j for j in load_jobs(sys.argv[1]) if j.name == sys.argv[2])
assert JobLock(job).acquire()
print("locked", flush=True)
time.sleep(600)
"""


class Recorder:
    """A runner that records each run instead of crawling; it can move a fake clock on."""

    def __init__(self, exit_code: int = 0, clock: FakeClock | None = None) -> None:
        self.exit_code = exit_code
        self.clock = clock
        self.took = timedelta(0)
        self.runs: list[tuple[str, str]] = []

    def __call__(self, job: Job, crawl_id: str) -> int:
        self.runs.append((job.name, crawl_id))
        if self.clock is not None:
            self.clock.now += self.took
        return self.exit_code


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeSleep(threading.Event):
    """A stop event whose waits move the fake clock on instead of sleeping; it stops at ``until``."""

    def __init__(self, clock: FakeClock, until: datetime) -> None:
        super().__init__()
        self.clock, self.until = clock, until

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None and 0 <= timeout <= 60
        self.clock.now += timedelta(seconds=timeout)
        if self.clock.now >= self.until:
            self.set()
        return self.is_set()


def write_jobs(folder: Path, text: str = JOBS) -> Path:
    path = folder / "scrubwatch.toml"
    path.write_text(text)
    return path


@pytest.fixture
def jobs_path(tmp_path: Path) -> Path:
    return write_jobs(tmp_path)


@pytest.fixture
def jobs(jobs_path: Path) -> list[Job]:
    return load_jobs(jobs_path)


def by_name(jobs: list[Job], name: str) -> Job:
    return next(job for job in jobs if job.name == name)


@pytest.fixture
def lock_holder(jobs_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of job ``hourly``; killed (-9) at the end if alive."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(jobs_path), "hourly"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_job_that_never_ran_is_due_at_once_then_at_its_next_fire_time(jobs: list[Job]) -> None:
    runner = Recorder()
    done = run_due(jobs, T0, runner=runner)
    assert [(r.job, r.result, r.crawl_id) for r in done] == [
        ("hourly", "ok", "20300107T001000Z-hourly"),
        ("nightly", "ok", "20300107T001000Z-nightly"),
    ]
    assert runner.runs == [(r.job, r.crawl_id) for r in done]
    hourly, nightly = (load_state(job) for job in jobs)
    assert hourly is not None and nightly is not None
    assert hourly.scheduled == datetime(2030, 1, 7, 0, 0, tzinfo=UTC)
    assert nightly.scheduled == datetime(2030, 1, 6, 2, 0, tzinfo=UTC)  # 03:00 in Berlin
    assert run_due(jobs, T0 + timedelta(minutes=49), runner=runner) == []
    assert [r.job for r in run_due(jobs, T0 + timedelta(minutes=50), runner=runner)] == ["hourly"]
    assert [r.job for r in run_due(jobs, T0 + timedelta(hours=1, minutes=50), runner=runner)] == [
        "hourly",
        "nightly",
    ]
    assert len(runner.runs) == 5


def test_after_a_long_downtime_a_job_runs_once(jobs: list[Job]) -> None:
    hourly = [by_name(jobs, "hourly")]
    runner = Recorder()
    run_due(hourly, T0, runner=runner)
    later = T0 + timedelta(days=3, minutes=20)  # 72 fire times missed
    assert [r.crawl_id for r in run_due(hourly, later, runner=runner)] == [
        "20300110T003000Z-hourly"
    ]
    state = load_state(hourly[0])
    assert state is not None and state.scheduled == datetime(2030, 1, 10, 0, 0, tzinfo=UTC)
    assert run_due(hourly, later + timedelta(minutes=29), runner=runner) == []
    assert len(run_due(hourly, later + timedelta(minutes=30), runner=runner)) == 1


def test_a_failed_run_is_recorded_and_the_last_good_crawl_kept(jobs: list[Job]) -> None:
    hourly = by_name(jobs, "hourly")
    run_due([hourly], T0, runner=Recorder())
    (failed,) = run_due([hourly], T0 + HOUR, runner=Recorder(exit_code=1))
    assert (failed.result, failed.exit_code) == ("failed", 1)
    state = load_state(hourly)
    assert state is not None
    assert (state.result, state.exit_code, state.crawl_id) == ("failed", 1, failed.crawl_id)
    assert state.last_ok_crawl_id == "20300107T001000Z-hourly"
    assert state.ended is not None and state.ended >= state.started

    def broken(job: Job, crawl_id: str) -> int:
        raise FileNotFoundError("no such executable")

    (crashed,) = run_due([hourly], T0 + 2 * HOUR, runner=broken)
    assert (crashed.result, crashed.exit_code) == ("failed", None)
    state = load_state(hourly)
    assert state is not None and state.last_ok_crawl_id == "20300107T001000Z-hourly"


def test_the_state_file_is_json_beside_the_jobs_file_and_nothing_else_is_left(
    jobs: list[Job], tmp_path: Path
) -> None:
    hourly = by_name(jobs, "hourly")
    run_due([hourly], T0, runner=Recorder())
    folder = tmp_path / ".scrubwatch-state"
    assert sorted(p.name for p in folder.iterdir()) == ["hourly.json", "hourly.lock"]
    data = json.loads((folder / "hourly.json").read_text())
    assert data == {
        "scheduled": "2030-01-07T00:00:00+00:00",
        "started": "2030-01-07T00:10:00+00:00",
        "result": "ok",
        "crawl_id": "20300107T001000Z-hourly",
        "pid": data["pid"],
        "ended": "2030-01-07T00:10:00+00:00",
        "exit_code": 0,
        "last_ok_crawl_id": "20300107T001000Z-hourly",
        "report": None,
        "report_error": None,
    }
    assert (folder / "hourly.lock").read_text() == ""  # the pid goes when the lock does
    state_path(hourly).write_text("{not json")
    with pytest.raises(JobsError, match=r"hourly.json of job 'hourly' is unreadable"):
        run_due([hourly], T0 + HOUR, runner=Recorder())
    state_path(hourly).write_text(json.dumps({**data, "result": "maybe"}))
    with pytest.raises(JobsError, match=r"unreadable \(result 'maybe' is not one of"):
        run_due([hourly], T0 + HOUR, runner=Recorder())


def test_a_lock_that_cannot_be_taken_names_the_job_and_the_file(
    jobs: list[Job], tmp_path: Path
) -> None:
    hourly = by_name(jobs, "hourly")
    (tmp_path / ".scrubwatch-state" / "hourly.lock").mkdir(parents=True)
    with pytest.raises(JobsError, match=r"state of job 'hourly': cannot write .*hourly\.lock: "):
        run_due([hourly], T0, runner=Recorder())


def test_a_report_that_cannot_be_made_leaves_the_run_ok(tmp_path: Path) -> None:
    path = write_jobs(
        tmp_path,
        JOBS.replace(
            'schedule = { every = "1h" }', 'schedule = { every = "1h" }\nreport_dir = "reports"', 1
        ),
    )
    hourly = by_name(load_jobs(path), "hourly")
    (first,) = run_due([hourly], T0, runner=Recorder())
    assert (first.report, first.report_error) == (None, None)  # nothing to compare with yet
    (second,) = run_due([hourly], T0 + HOUR, runner=Recorder())  # the recorder stores nothing
    assert second.result == "ok" and second.report is None
    assert second.report_error is not None and "StoreMissing" in second.report_error
    state = load_state(hourly)
    assert state is not None and state.report_error == second.report_error
    assert state.last_ok_crawl_id == second.crawl_id


def test_a_job_whose_lock_another_process_holds_is_skipped_until_that_process_dies(
    jobs: list[Job], lock_holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    hourly = by_name(jobs, "hourly")
    runner = Recorder()
    assert JobLock(hourly).holder() == lock_holder.pid
    with caplog.at_level(logging.INFO, logger="crawler.scheduler"):
        assert run_due([hourly], T0, runner=runner) == [RunResult("hourly", "skipped")]
    assert runner.runs == []
    assert f"job hourly: skipped: its previous run is still going (pid {lock_holder.pid}" in (
        caplog.text
    )
    lock_holder.kill()  # SIGKILL: no clean-up runs, the kernel drops the flock
    lock_holder.wait()
    assert JobLock(hourly).holder() is None
    assert [r.result for r in run_due([hourly], T0, runner=runner)] == ["ok"]


def test_a_run_whose_process_died_is_listed_as_interrupted_and_runs_again(
    jobs: list[Job],
) -> None:
    hourly = by_name(jobs, "hourly")
    run_due([hourly], T0, runner=Recorder())
    state = load_state(hourly)
    assert state is not None
    save_state(hourly, replace(state, result="running", ended=None))
    assert load_states([hourly])["hourly"].result == "interrupted"
    (row,) = list_jobs([hourly], load_states([hourly]), T0)
    assert (row.result, row.next_run) == ("interrupted", T0 + timedelta(minutes=50))
    (row,) = list_jobs([hourly], load_states([hourly]), T0 + HOUR)
    assert row.next_run == T0 + HOUR  # overdue: due now
    assert [r.result for r in run_due([hourly], T0 + HOUR, runner=Recorder())] == ["ok"]


def test_list_shows_schedule_last_run_result_and_next_run(jobs: list[Job]) -> None:
    assert list_jobs(jobs, load_states(jobs), T0) == [
        JobRow("hourly", "every 1h", None, None, None, T0),
        JobRow("nightly", "cron 0 3 * * * (Europe/Berlin)", None, None, None, T0),
    ]
    run_due(jobs, T0, runner=Recorder(exit_code=2))
    rows = list_jobs(jobs, load_states(jobs), T0)
    assert [(r.last_run, r.result, r.next_run) for r in rows] == [
        (T0, "failed", datetime(2030, 1, 7, 1, 0, tzinfo=UTC)),
        (T0, "failed", datetime(2030, 1, 7, 2, 0, tzinfo=UTC)),  # 03:00 in Berlin
    ]
    assert rows[0].to_dict()["next_run"] == "2030-01-07T01:00:00+00:00"


def test_the_daemon_skips_fire_times_that_pass_while_a_job_runs(jobs: list[Job]) -> None:
    clock = FakeClock(datetime(2030, 1, 7, 0, 0, tzinfo=UTC))
    runner = Recorder(clock=clock)
    runner.took = timedelta(hours=2, minutes=30)
    stop = FakeSleep(clock, until=datetime(2030, 1, 7, 8, 0, tzinfo=UTC))
    daemon([by_name(jobs, "hourly")], stop, runner=runner, clock=clock)
    assert [crawl_id for _, crawl_id in runner.runs] == [
        "20300107T000000Z-hourly",
        "20300107T030000Z-hourly",  # 01:00 and 02:00 passed during the first run
        "20300107T060000Z-hourly",
    ]


def test_the_daemon_waits_for_the_next_fire_time_of_a_job_another_process_runs(
    jobs: list[Job], lock_holder: subprocess.Popen[str], caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(T0)
    runner = Recorder()
    stop = FakeSleep(clock, until=T0 + timedelta(hours=2, minutes=30))
    with caplog.at_level(logging.INFO, logger="crawler.scheduler"):
        daemon([by_name(jobs, "hourly")], stop, runner=runner, clock=clock)
    assert runner.runs == []
    # once at the start and once per fire time, not once per wake-up
    assert caplog.text.count("job hourly: skipped: its previous run is still going") == 3


def test_setting_the_stop_event_wakes_the_daemon(jobs: list[Job]) -> None:
    runner = Recorder()
    run_due(jobs, datetime.now(UTC), runner=runner)
    stop = threading.Event()
    thread = threading.Thread(target=daemon, args=(jobs, stop), kwargs={"runner": runner})
    started = time.monotonic()
    thread.start()
    time.sleep(0.2)  # let it go to sleep (up to 60 s) before waking it
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 10
    assert len(runner.runs) == 2  # the daemon found nothing due


def test_crontab_lines_carry_each_cron_and_one_line_for_the_intervals(tmp_path: Path) -> None:
    job = 'seeds = ["https://example.org/a"]\nstore = "archive"\n'
    path = write_jobs(
        tmp_path,
        f"""
[jobs.a]
{job}schedule = {{ cron = "0 */6 * * *", timezone = "Europe/Berlin" }}
[jobs.b]
{job}schedule = {{ every = "6h" }}
[jobs.c]
{job}schedule = {{ cron = "30 2 * * 1-5", timezone = "Europe/Berlin" }}
[jobs.d]
{job}schedule = {{ cron = "@daily" }}
[jobs.e]
{job}schedule = {{ every = "90m" }}
""",
    )
    # cron reads an unescaped % as a newline
    run = rf"/opt/sw\%/bin/scrubwatch schedule run-due --jobs {path.resolve()}"
    assert crontab_lines(load_jobs(path), path, "/opt/sw%/bin/scrubwatch") == [
        f"# scrubwatch jobs of {path.resolve()}; a CRON_TZ line applies to the lines after it",
        "CRON_TZ=Europe/Berlin",
        f"0 */6 * * * {run} a",
        f"30 2 * * 1-5 {run} c",
        "CRON_TZ=UTC",
        f"@daily {run} d",
        f"*/30 * * * * {run} b e",
    ]


@pytest.mark.parametrize(
    ("every", "line"),
    [
        ("1m", "* * * * *"),
        ("45m", "*/15 * * * *"),
        ("1h", "0 * * * *"),
        ("7h", "0 * * * *"),
        ("12h", "0 */12 * * *"),
        ("1d", "0 0 * * *"),
        ("2d", "0 0 * * *"),
    ],
)
def test_the_interval_line_repeats_at_a_period_that_divides_every_interval(
    tmp_path: Path, every: str, line: str
) -> None:
    path = write_jobs(
        tmp_path,
        f'[jobs.x]\nseeds = ["https://example.org/a"]\nstore = "s"\nschedule = {{ every = "{every}" }}\n',
    )
    lines = crontab_lines(load_jobs(path), path, "scrubwatch")
    assert lines[1:] == [
        "CRON_TZ=UTC",
        f"{line} scrubwatch schedule run-due --jobs {path.resolve()} x",
    ]


def test_the_crawl_command_carries_the_job(tmp_path: Path) -> None:
    (tmp_path / "outlets.toml").write_text("")
    path = write_jobs(
        tmp_path,
        """
[jobs.x]
seeds = ["https://example.org/a", "https://example.org/b"]
store = "archive"
schedule = { every = "1d" }
depth = 2
allow_private = true
outlets = "outlets.toml"
settings = { AUTOTHROTTLE_ENABLED = false, DOWNLOAD_TIMEOUT = 20, SSRF_ALLOWED_NETWORKS = ["127.0.0.2/32", "127.0.0.3/32"], HEADERS = { A = "b" } }
""",
    )
    (job,) = load_jobs(path)
    assert crawl_command(job, "20300107T001000Z-x") == [
        sys.executable,
        "-m",
        "crawler",
        "crawl",
        "https://example.org/a",
        "https://example.org/b",
        "--store",
        str(tmp_path.resolve() / "archive"),
        "--crawl-id",
        "20300107T001000Z-x",
        "--depth",
        "2",
        "--allow-private",
        "--outlets",
        str(tmp_path.resolve() / "outlets.toml"),
        "-s",
        "AUTOTHROTTLE_ENABLED=false",
        "-s",
        "DOWNLOAD_TIMEOUT=20",
        "-s",
        "SSRF_ALLOWED_NETWORKS=127.0.0.2/32,127.0.0.3/32",
        "-s",
        'HEADERS={"A": "b"}',
    ]


@pytest.mark.slow
def test_two_runs_over_the_local_cited_web_store_two_crawls_and_a_scrub_report(
    localweb: LocalWeb, localweb_registry: Path, tmp_path: Path
) -> None:
    path = write_jobs(
        tmp_path,
        f"""
[jobs.dong-jingwei]
seeds = ["{localweb.seed_url}"]
store = "archive"
schedule = {{ every = "1d" }}
allow_private = true
outlets = "{localweb_registry.name}"
report_dir = "reports"
settings = {{ AUTOTHROTTLE_ENABLED = false, DOWNLOAD_TIMEOUT = 20 }}
""",
    )
    assert localweb_registry.parent == tmp_path
    jobs = load_jobs(path)
    day1 = datetime.now(UTC).replace(microsecond=0)
    (first,) = run_due(jobs, day1)
    assert first.result == "ok", first
    assert run_due(jobs, day1 + timedelta(minutes=1)) == []
    localweb.set_version(2)
    (second,) = run_due(jobs, day1 + timedelta(days=1))
    assert second.result == "ok", second
    for run in (first, second):
        assert run.crawl_id is not None and run.crawl_id.endswith("-dong-jingwei")
        assert (tmp_path / "archive" / "crawls" / run.crawl_id / "manifest.json").is_file()
    assert second.report_error is None
    stem = tmp_path / "reports" / f"dong-jingwei-{second.crawl_id}"
    assert second.report == Path(f"{stem}.html")
    report = json.loads(Path(f"{stem}.json").read_text())
    assert (report["from"], report["to"]) == (first.crawl_id, second.crawl_id)
    assert report["scrubbed"]
    assert "Scrubbed" in Path(f"{stem}.html").read_text()
