"""Running a benchmarked command: wall time, peak memory of its process tree, profiles.

:func:`run` starts a command and polls it with psutil: the resident set size (RSS) of
the command's own process and the sum over it and all its descendants (the extraction
workers), every 0.2 s; the peaks are reported. RSS of several processes adds up pages
they share (the workers' copies of Python and trafilatura), so the total is an upper
bound of what they hold. With ``pss=True`` the tree's proportional set size (PSS: a page
shared by n processes counts 1/n in each, so each page once) is polled beside it; only
the memory benchmark asks, since reading it costs the kernel about 8 ms a process a poll
(16% of a core for a crawl and its 3 helpers), which would bias timed figures.
CPU seconds are exact for the command's own process: when it exits it is left a zombie
for a moment (``waitid`` with ``WNOWAIT``) and its ``/proc/<pid>/stat`` read, which holds
its own user and system time and those of the descendants it has reaped (the fork
server, the extraction workers); the descendants' figure is the larger of that and the
sum of what the poller last saw of each (a descendant nobody reaped counts only there).
Each run notes the 1-minute load average when it starts and ends.
:func:`profile` runs a command under py-spy (sampling, all threads, child processes
too) and :func:`summarize` reduces py-spy's collapsed stacks to where the time goes,
per process.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

POLL_SECONDS = 0.2
TIMELINE_SECONDS = 5.0  # how often the CPU used so far is noted in Run.timeline


@dataclass
class Run:
    """One run of a command."""

    seconds: float
    returncode: int
    peak_rss_main: int  # bytes
    peak_rss_total: int  # bytes, the process and all its descendants
    peak_processes: int
    peak_pss_total: int = 0  # bytes, PSS summed over the process and its descendants
    cpu_main: float = 0.0  # CPU seconds (user + system) of the command's process
    cpu_children: float = 0.0  # CPU seconds of its descendants (the extraction workers)
    output: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # [seconds since start, CPU seconds of the process, of its descendants], every
    # TIMELINE_SECONDS: when the cores were busy, and with what
    timeline: list[tuple[float, float, float]] = field(default_factory=list)
    load_before: float = 0.0  # 1-minute load average when the run started
    load_after: float = 0.0  # and when it ended
    ended: float = 0.0  # when it ended, seconds since the epoch
    # the whole machine's core-seconds over the run (/proc/stat): left idle, and spent by
    # every process (the command's, the site's server, this poller, anything else)
    machine_idle: float = 0.0
    machine_busy: float = 0.0

    @property
    def cpu_total(self) -> float:
        return self.cpu_main + self.cpu_children

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("output")
        return data


def _poll(process: psutil.Process, cpu: dict[int, float], pss: bool) -> tuple[int, int, int, int]:
    """(RSS of ``process``, RSS of it and its descendants, how many, their PSS); CPU
    seconds into ``cpu``."""
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0, 0, 0
    rss = []
    proportional = 0
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied), member.oneshot():
            rss.append(member.memory_info().rss)
            times = member.cpu_times()
            cpu[member.pid] = times.user + times.system
            if pss:
                proportional += member.memory_full_info().pss
    return (rss[0] if rss else 0), sum(rss), len(rss), proportional


_TICKS = os.sysconf("SC_CLK_TCK")


def _exited(pid: int) -> bool:
    """Whether ``pid`` (a child) has exited, leaving it unreaped."""
    found = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return found is not None and found.si_pid == pid


def _zombie_cpu(pid: int) -> tuple[float, float]:
    """(own CPU seconds, reaped descendants' CPU seconds) of an exited, unreaped child."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # after the command: state is field 3, utime 14, stime 15, cutime 16, cstime 17
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime) / _TICKS, (cutime + cstime) / _TICKS


def run(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    pss: bool = False,
) -> Run:
    """Run ``command`` to its end, polling its memory; output goes to ``log`` (or is kept)."""
    out = log.open("w") if log else subprocess.PIPE
    load_before = os.getloadavg()[0]
    machine_before = machine_cpu()
    started = time.monotonic()
    try:
        child = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        watched = psutil.Process(child.pid)
        peak_main = peak_total = peak_count = peak_pss = 0
        cpu: dict[int, float] = {}
        timeline: list[tuple[float, float, float]] = []
        exact: tuple[float, float] | None = None
        while True:
            if _exited(child.pid):
                exact = _zombie_cpu(child.pid)
                child.wait()
                break
            main, total, count, proportional = _poll(watched, cpu, pss)
            elapsed = time.monotonic() - started
            if elapsed >= len(timeline) * TIMELINE_SECONDS:
                own = cpu.get(child.pid, 0.0)
                timeline.append((round(elapsed, 1), own, round(sum(cpu.values()) - own, 2)))
            peak_main, peak_total = max(peak_main, main), max(peak_total, total)
            peak_count, peak_pss = max(peak_count, count), max(peak_pss, proportional)
            time.sleep(POLL_SECONDS)
        seconds = time.monotonic() - started
        ended = time.time()
        machine_after = machine_cpu()
        output = child.stdout.read() if child.stdout else ""
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    if log:
        output = log.read_text()
    cpu.pop(child.pid, None)
    assert exact is not None
    cpu_main, reaped = exact
    return Run(
        seconds,
        child.returncode,
        peak_main,
        peak_total,
        peak_count,
        peak_pss,
        cpu_main,
        max(reaped, sum(cpu.values())),
        output,
        timeline=timeline,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        ended=ended,
        machine_idle=machine_after[0] - machine_before[0],
        machine_busy=machine_after[1] - machine_before[1],
    )


def machine_cpu() -> tuple[float, float]:
    """The machine's core-seconds so far, idle (idle and iowait) and busy (the rest but
    steal, which another machine had), from the first line of ``/proc/stat``."""
    ticks = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, *_ = (
        int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    )
    return (idle + iowait) / ticks, (user + nice + system + irq + softirq) / ticks


def check(result: Run, what: str) -> Run:
    if result.returncode != 0:
        raise SystemExit(f"{what} failed (exit {result.returncode}):\n{result.output[-3000:]}")
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- profiles -----------------------------------------------------------------------------


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy is missing: pip install -e '.[bench]'")
    return found


def profile(command: list[str], *, cwd: Path, raw: Path, rate: int = 50) -> Run:
    """Run ``command`` under py-spy; collapsed stacks (one line per stack) go to ``raw``."""
    spy = [py_spy(), "record", "--rate", str(rate), "--format", "raw", "--subprocesses"]
    return run([*spy, "--output", str(raw), "--", *command], cwd=cwd)


_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")
_PROCESS = re.compile(r'^process (?P<pid>\d+):"(?P<cmd>.*)"$')


def _module(file: str) -> str:
    """A frame's file as a module name: ``scrapy/core/engine.py`` -> ``scrapy.core.engine``."""
    path = file.removesuffix(".py").replace("/", ".")
    return path.removesuffix(".__init__")


def _group(module: str) -> str:
    """What a module belongs to, for the summary: our modules whole, others by package."""
    top = module.split(".")[0]
    if top in ("crawler", "pipelines", "storage"):
        return module
    if top in ("concurrent", "threading", "asyncio", "selectors", "queue", "multiprocessing"):
        return f"(stdlib {top})"
    return top


def _split_frames(stack: str) -> list[str]:
    """A collapsed stack's frames; a process frame's command line may hold ``;``."""
    frames: list[str] = []
    for part in stack.split(";"):
        if frames and frames[-1].startswith("process ") and not frames[-1].endswith('"'):
            frames[-1] += ";" + part
        else:
            frames.append(part)
    return frames


def _command(cmd: str) -> str:
    """A child's command line, short: the extraction workers' all read the same."""
    return "multiprocessing spawn worker" if "spawn_main" in cmd else cmd[:80]


def summarize(raw: Path, top: int = 15) -> dict[str, Any]:
    """Where the samples of each process went: by function (self), by module (inclusive).

    A process is the command's own (``main``) or a child; children with the same
    command line (the extraction workers) are merged. Percentages are of that group's
    samples; each thread's samples count, so a process with a busy thread beside the
    reactor thread has more samples than seconds x rate.
    """
    groups: dict[str, dict[str, Counter[str]]] = defaultdict(
        lambda: {"self": Counter(), "inclusive": Counter(), "modules": Counter()}
    )
    pids: dict[str, set[str]] = defaultdict(set)
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = _split_frames(stack)
        # py-spy nests a child's stacks under its parent's process frame: the last one counts.
        processes = []
        while frames and (process := _PROCESS.match(frames[0])):
            processes.append(process)
            frames = frames[1:]
        name = "main"
        if processes:
            root, own = processes[0]["pid"], processes[-1]
            name = "main" if own["pid"] == root else "child: " + _command(own["cmd"])
            pids[name].add(own["pid"])
        tallies = groups[name]
        parsed = [m for m in (_FRAME.match(f) for f in frames) if m]
        if not parsed:
            continue
        leaf = parsed[-1]
        tallies["self"][f"{leaf['function']} ({_module(leaf['file'])})"] += count
        for function in {f"{m['function']} ({_module(m['file'])})" for m in parsed}:
            tallies["inclusive"][function] += count
        for module in {_group(_module(m["file"])) for m in parsed}:
            tallies["modules"][module] += count
    summary: dict[str, Any] = {}
    for name, tallies in groups.items():
        total = sum(tallies["self"].values())
        summary[name] = {
            "processes": len(pids[name]) or 1,
            "samples": total,
            **{
                kind: [
                    (key, round(100 * n / total, 1)) for key, n in tallies[kind].most_common(top)
                ]
                for kind in ("self", "inclusive", "modules")
            },
        }
    return summary


def format_summary(summary: dict[str, Any], top: int = 12) -> str:
    lines = []
    for name, data in summary.items():
        lines.append(f"{name}: {data['processes']} process(es), {data['samples']} samples")
        for kind, title in (
            ("modules", "by module, inclusive"),
            ("self", "by function, self"),
        ):
            lines.append(f"  {title}:")
            lines += [f"    {share:5.1f}%  {key}" for key, share in data[kind][:top]]
    return "\n".join(lines)
