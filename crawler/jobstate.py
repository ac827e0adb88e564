"""What the scheduler remembers of each job, and the lock that keeps its runs apart.

Beside the jobs file, ``.scrubwatch-state/<job>.json`` holds the job's last run (the
fire time it was for, start and end, result, crawl id, exit code, pid) and the id of
its last successful crawl; it is replaced atomically, so ``run-due`` from system cron,
the daemon and ``list`` can share it. ``.scrubwatch-state/<job>.lock`` is held with
``flock`` by the process running the job, which writes its pid into it: the kernel
releases the lock when that process ends, even by ``kill -9``.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, get_args

from crawler.jobs import Job, JobsError
from storage.errors import one_line

#: how a job's last run went (``interrupted``: its process died while it ran)
RunResult = Literal["running", "ok", "failed", "interrupted"]
RUNNING: RunResult = "running"
OK: RunResult = "ok"
FAILED: RunResult = "failed"
INTERRUPTED: RunResult = "interrupted"
_TIMES = ("scheduled", "started", "ended")


@dataclass(frozen=True)
class JobState:
    """The last run of a job; ``scheduled`` is the latest fire time it has consumed."""

    scheduled: datetime
    started: datetime
    result: RunResult
    crawl_id: str
    pid: int
    ended: datetime | None = None
    exit_code: int | None = None
    last_ok_crawl_id: str | None = None
    report: str | None = None
    report_error: str | None = None
    notify_sent: int = 0  # notify URLs the run's alert reached
    notify_failed: int = 0  # notify URLs it did not (logged, by position: crawler/alerts.py)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in _TIMES:
            if data[name] is not None:
                data[name] = data[name].isoformat(timespec="seconds")
        if not (self.notify_sent or self.notify_failed):  # a run that sent no alert
            del data["notify_sent"], data["notify_failed"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobState:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("result") not in get_args(RunResult):
            raise ValueError(f"result {values.get('result')!r} is not one of {get_args(RunResult)}")
        for name in _TIMES:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)


def state_path(job: Job) -> Path:
    return job.state_dir / f"{job.name}.json"


def lock_path(job: Job) -> Path:
    return job.state_dir / f"{job.name}.lock"


def load_state(job: Job) -> JobState | None:
    """The job's state, ``None`` if it has never run."""
    path = state_path(job)
    try:
        return JobState.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise JobsError(
            f"state file {path} of job {job.name!r} is unreadable ({exc}): "
            "delete it and the job starts afresh"
        ) from None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file: readers see all of it or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _unwritable(job: Job, path: Path, exc: OSError) -> JobsError:
    return JobsError(f"state of job {job.name!r}: cannot write {path}: {one_line(exc)}")


def save_state(job: Job, state: JobState) -> None:
    path = state_path(job)
    try:
        write_atomic(path, json.dumps(state.to_dict(), indent=2) + "\n")
    except OSError as exc:
        raise _unwritable(job, path, exc) from exc


def load_states(jobs: list[Job]) -> dict[str, JobState]:
    """The state of every job that has run; a run whose process is gone is ``interrupted``."""
    states = {}
    for job in jobs:
        state = load_state(job)
        if state is None:
            continue
        if state.result == RUNNING and JobLock(job).holder() is None:
            state = replace(state, result=INTERRUPTED)
        states[job.name] = state
    return states


class JobLock:
    """``with JobLock(job) as lock: if lock.acquired: ...``; never blocks.

    The lock file is never deleted: removing a file others may have open would let
    two processes hold "the" lock at once.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.path = lock_path(job)
        self.acquired = False
        self.holder_pid: int | None = None
        self._fd: int | None = None

    def acquire(self) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _unwritable(self.job, self.path, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.holder_pid = _read_pid(fd)
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd, self.acquired = fd, True
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd, self.acquired = None, False

    def holder(self) -> int | None:
        """The pid of the process holding the lock (0 if it wrote none), ``None`` if free."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            # A shared probe: it can only collide with a starting run for an instant.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or 0
        finally:
            os.close(fd)
        return None

    def __enter__(self) -> JobLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None
