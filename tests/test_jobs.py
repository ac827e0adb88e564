"""The jobs file: what it accepts, how it names what is wrong, and when its schedules fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.jobs import CronSchedule, IntervalSchedule, JobsError, load_jobs

BERLIN = "Europe/Berlin"
GOOD_JOB = """
[jobs.j]
seeds = ["https://example.org/a"]
store = "archive"
schedule = { every = "1h" }
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the current folder, so the jobs file is found by its default name."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_jobs_file_is_read_with_defaults_and_paths_relative_to_its_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "article.txt").write_text("An article citing https://example.org/a\n")
    (tmp_path / "outlets.toml").write_text("")
    path = tmp_path / "conf" / "scrubwatch.toml"
    path.parent.mkdir()
    path.write_text(
        """
[jobs.baidu]
seeds = ["https://example.org/article", "../article.txt"]
store = "../archive"
schedule = { cron = "0  */6 * * *", timezone = "Europe/Berlin" }
depth = 1
allow_private = true
outlets = "../outlets.toml"
report_dir = "reports"

[jobs.baidu.settings]
AUTOTHROTTLE_ENABLED = false
DOWNLOAD_TIMEOUT = 20

[jobs.weibo]
seeds = ["https://example.org/b"]
store = "s3://bucket/prefix"
schedule = { every = "30m" }
"""
    )
    baidu, weibo = load_jobs(path)
    conf = path.parent.resolve()
    assert baidu.name == "baidu"
    assert baidu.seeds == ("https://example.org/article", str(conf / "../article.txt"))
    assert Path(baidu.seeds[1]).is_file()
    assert baidu.store == str(conf / "../archive")
    assert baidu.schedule == CronSchedule("0 */6 * * *", BERLIN)
    assert (baidu.depth, baidu.allow_private) == (1, True)
    assert baidu.outlets == conf / "../outlets.toml"
    assert baidu.report_dir == conf / "reports"
    assert baidu.settings == {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_TIMEOUT": 20}
    assert baidu.state_dir == conf / ".scrubwatch-state"
    assert weibo.store == "s3://bucket/prefix"
    assert weibo.schedule == IntervalSchedule(1800, "30m")
    assert (weibo.depth, weibo.allow_private, weibo.outlets, weibo.report_dir) == (
        0,
        False,
        None,
        None,
    )
    assert weibo.settings == {}


def test_the_default_jobs_file_is_scrubwatch_toml_in_the_current_folder(in_tmp: Path) -> None:
    (in_tmp / "scrubwatch.toml").write_text(GOOD_JOB)
    (job,) = load_jobs()
    assert job.store == str(in_tmp.resolve() / "archive")


@pytest.mark.parametrize(
    ("job", "field", "message"),
    [
        ('schedule = { cron = "61 * * * *" }', "schedule", 'cron "61 * * * *" is invalid: '),
        ('schedule = { cron = "0 0 L * *" }', "schedule", "field 'L' is not one system cron"),
        ('schedule = { cron = "0 0 * * 5#2" }', "schedule", "field '5#2' is not one"),
        ('schedule = { cron = "0 0 * * * *" }', "schedule", "use 5 fields (got 6)"),
        ('schedule = { cron = "@reboot" }', "schedule", "use 5 fields (got 1) or one of"),
        ('schedule = { cron = "0 0 30 2 *" }', "schedule", "it never fires"),
        (
            'schedule = { cron = "0 3 * * *", timezone = "Mars/Olympus" }',
            "schedule",
            "unknown timezone",
        ),
        ('schedule = { cron = "0 3 * * *", every = "1h" }', "schedule", "give either cron"),
        ("schedule = {}", "schedule", "give either cron"),
        ('schedule = { every = "6x" }', "schedule", "every '6x' is invalid: use a whole number"),
        ('schedule = { every = "0h" }', "schedule", "every '0h' is invalid"),
        ('schedule = { every = "90s" }', "schedule", "every '90s' is invalid"),
        (
            'schedule = { every = "1h", timezone = "UTC" }',
            "schedule",
            "timezone applies to cron only",
        ),
        ('schedule = { every = "1h", at = "03:00" }', "schedule", "unknown field 'at'"),
        ('schedule = "daily"', "schedule", '{ every = "6h" }'),
        ("depth = -1", "depth", "0 or more, not -1"),
        ("depth = true", "depth", "not True"),
        ('depth = "1"', "depth", "not '1'"),
        ('allow_private = "yes"', "allow_private", "true or false, not 'yes'"),
        ("seeds = []", "seeds", "non-empty list"),
        ('seeds = "https://example.org/a"', "seeds", "non-empty list"),
        ('seeds = ["https://example.org/a", ""]', "seeds", "non-empty string"),
        ('seeds = ["missing.txt"]', "seeds", "no such file"),
        ('store = "ftp://host/x"', "store", "unknown scheme 'ftp'"),
        ("store = 3", "store", "non-empty string, not 3"),
        ('outlets = "nope.toml"', "outlets", "no such file"),
        ("report_dir = 3", "report_dir", "non-empty string, not 3"),
        ('settings = "x"', "settings", "table of Scrapy settings"),
        (
            'settings = { STORE_URI = "elsewhere" }',
            "settings",
            "STORE_URI is set by the job's store",
        ),
        ('settings = { CRAWL_ID = "x" }', "settings", "CRAWL_ID is set by the scheduler"),
        ("settings = { SOME_DATE = 2025-01-01 }", "settings", "SOME_DATE: dates and times"),
        ("dept = 1", "dept", "unknown field; use allow_private, browser, depth"),
    ],
)
def test_a_bad_job_is_named_with_its_field(
    in_tmp: Path, job: str, field: str, message: str
) -> None:
    lines = GOOD_JOB.strip().splitlines()
    key = job.split("=")[0].strip()
    lines = [line for line in lines if not line.startswith(f"{key} =")] + [job]
    (in_tmp / "scrubwatch.toml").write_text("\n".join(lines) + "\n")
    with pytest.raises(JobsError) as raised:
        load_jobs("scrubwatch.toml")
    text = str(raised.value)
    assert text.startswith(f'scrubwatch.toml: job "j": {field}: '), text
    assert message in text


@pytest.mark.parametrize("missing", ["seeds", "store", "schedule"])
def test_a_missing_field_is_named(in_tmp: Path, missing: str) -> None:
    lines = [line for line in GOOD_JOB.splitlines() if not line.startswith(f"{missing} =")]
    (in_tmp / "scrubwatch.toml").write_text("\n".join(lines))
    with pytest.raises(JobsError, match=f'^scrubwatch.toml: job "j": {missing}: missing$'):
        load_jobs()


@pytest.mark.parametrize("name", ["bad name", "-dash-first", "x" * 48, "dots.not.allowed"])
def test_a_job_name_must_make_a_valid_crawl_id(in_tmp: Path, name: str) -> None:
    (in_tmp / "scrubwatch.toml").write_text(GOOD_JOB.replace("[jobs.j]", f'[jobs."{name}"]'))
    with pytest.raises(JobsError, match=f'^scrubwatch.toml: job "{name}": name: use 1-47'):
        load_jobs()


def test_the_longest_job_name_is_accepted(in_tmp: Path) -> None:
    (in_tmp / "scrubwatch.toml").write_text(GOOD_JOB.replace("[jobs.j]", f"[jobs.{'x' * 47}]"))
    assert load_jobs()[0].name == "x" * 47


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "scrubwatch.toml: no such jobs file: create it or give --jobs FILE"),
        ("[jobs.j\n", "scrubwatch.toml: not valid TOML: "),
        ("", "scrubwatch.toml: no jobs: add a [jobs.<name>] table"),
        ("[jobs]\n", "scrubwatch.toml: no jobs: "),
        ("jobs = 3\n", "scrubwatch.toml: no jobs: "),
        ("[jobs]\nj = 3\n", 'scrubwatch.toml: job "j" must be a table ([jobs.j])'),
        (GOOD_JOB + "[defaults]\ndepth = 1\n", "scrubwatch.toml: unknown table 'defaults'"),
    ],
)
def test_a_bad_jobs_file_is_named(in_tmp: Path, text: str | None, message: str) -> None:
    if text is not None:
        (in_tmp / "scrubwatch.toml").write_text(text)
    with pytest.raises(JobsError) as raised:
        load_jobs()
    assert str(raised.value).startswith(message)


def fires(schedule: CronSchedule | IntervalSchedule, after: datetime, n: int) -> list[datetime]:
    out = []
    for _ in range(n):
        after = schedule.next_after(after)
        out.append(after)
    return out


def test_a_cron_time_in_the_spring_gap_fires_when_the_clock_jumps_past_it() -> None:
    # Berlin, 2025-03-30: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 does not exist.
    nightly = CronSchedule("30 2 * * *", BERLIN)
    assert fires(nightly, utc(2025, 3, 28, 12), 3) == [
        utc(2025, 3, 29, 1, 30),  # 02:30 CET
        utc(2025, 3, 30, 1, 0),  # 03:00 CEST, the first minute after the gap
        utc(2025, 3, 31, 0, 30),  # 02:30 CEST
    ]


def test_a_cron_time_in_the_repeated_hour_fires_once() -> None:
    # Berlin, 2025-10-26: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
    nightly = CronSchedule("30 2 * * *", BERLIN)
    assert fires(nightly, utc(2025, 10, 25, 12), 2) == [
        utc(2025, 10, 26, 0, 30),  # 02:30 CEST, the first pass only
        utc(2025, 10, 27, 1, 30),  # 02:30 CET
    ]
    # between the two passes, the latest fire time is the first pass
    assert nightly.last_at_or_before(utc(2025, 10, 26, 1, 45)) == utc(2025, 10, 26, 0, 30)


def test_an_hourly_cron_fires_in_both_passes_of_the_repeated_hour() -> None:
    hourly = CronSchedule("0 * * * *", BERLIN)
    assert fires(hourly, utc(2025, 10, 25, 23, 30), 3) == [
        utc(2025, 10, 26, 0),  # 02:00 CEST
        utc(2025, 10, 26, 1),  # 02:00 CET
        utc(2025, 10, 26, 2),  # 03:00 CET
    ]
    assert hourly.last_at_or_before(utc(2025, 10, 26, 1, 30)) == utc(2025, 10, 26, 1)


def test_a_cron_keeps_local_time_across_dst_and_utc_is_the_default_zone() -> None:
    berlin = CronSchedule("0 */6 * * *", BERLIN)
    assert fires(berlin, utc(2025, 3, 29, 20), 3) == [
        utc(2025, 3, 29, 23),  # 00:00 CET
        utc(2025, 3, 30, 4),  # 06:00 CEST
        utc(2025, 3, 30, 10),  # 12:00 CEST
    ]
    plain = CronSchedule("0 */6 * * *")
    assert fires(plain, utc(2025, 3, 29, 20), 2) == [utc(2025, 3, 30, 0), utc(2025, 3, 30, 6)]
    assert plain.describe() == "cron 0 */6 * * * (UTC)"


def test_a_fire_time_is_its_own_latest_fire_time() -> None:
    daily = CronSchedule("@daily", "America/New_York")
    assert daily.last_at_or_before(utc(2025, 1, 2, 5)) == utc(2025, 1, 2, 5)
    assert daily.last_at_or_before(utc(2025, 1, 2, 4, 59)) == utc(2025, 1, 1, 5)
    just_before = utc(2025, 1, 2, 5) - timedelta(microseconds=500_000)
    assert daily.last_at_or_before(just_before) == utc(2025, 1, 1, 5)
    assert daily.next_after(just_before) == utc(2025, 1, 2, 5)
    assert daily.next_after(utc(2025, 1, 2, 5)) == utc(2025, 1, 3, 5)


def test_intervals_are_counted_from_midnight_utc() -> None:
    six = IntervalSchedule.parse("6h")
    assert six.seconds == 6 * 3600 and six.describe() == "every 6h"
    assert fires(six, utc(2025, 1, 1, 6) - timedelta(seconds=1), 3) == [
        utc(2025, 1, 1, 6),
        utc(2025, 1, 1, 12),
        utc(2025, 1, 1, 18),
    ]
    assert six.last_at_or_before(utc(2025, 1, 1, 6)) == utc(2025, 1, 1, 6)
    assert six.last_at_or_before(utc(2025, 1, 1, 5, 59)) == utc(2025, 1, 1, 0)
    assert IntervalSchedule.parse("30m").next_after(utc(2025, 1, 1, 0, 31)) == utc(2025, 1, 1, 1)
    day = IntervalSchedule.parse("1d")
    assert day.next_after(utc(2025, 1, 1) - timedelta(microseconds=1)) == utc(2025, 1, 1)
