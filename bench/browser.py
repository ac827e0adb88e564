"""Browser capture: rendered pages per second, peak PSS, and a mixed crawl's time.

Everything runs on loopback inside a network namespace of its own (the script re-runs
itself under ``unshare -n`` with only ``lo`` up), so no request can leave the machine.
A small site is built in memory and served by Python's ``ThreadingHTTPServer`` (HTTP/1.1,
keep-alive) in a process of its own, on two addresses of ``lo``:

- ``127.0.0.2``: script-built pages like ``tests/fixtures/scripted.py``'s: ``/r/<i>.html``
  is a shell (a title, an empty ``<div>`` and a script) whose script ``fetch()``es
  ``/api/<i>.json`` and inserts its heading, three paragraphs and 2 or 3 images
  (``/img/<i>-<k>.png``, 120x90 PNGs of noise, about 32 KB each, every one distinct);
- ``127.0.0.1``: plain articles ``/p/<i>.html`` (about 3 KB of text each, no script), with
  a stylesheet and a logo that all of them share.

Benchmarks (``--only render,mixed``; both by default), each contender ``--runs`` times
(default 3), the contenders' order rotating from run to run, medians reported:

- ``render``: 100 rendered pages, ``BROWSER_PAGES=2``: scrubwatch's crawl with
  ``--browser always`` against a plain Playwright script (async, 2 pages at a time,
  the same Chromium binary, ``goto`` then the same network-idle wait, the DOM and a
  full-page screenshot saved to files), and the same script with scrubwatch's scroll
  (:data:`crawler.browser.handler._SCROLL`) and its second idle wait. Target: the
  crawl's peak PSS (crawl process, extraction workers, Playwright's node driver, every
  Chromium process) under 1.5 GB.
- ``mixed``: 1,000 plain pages with 10 rendered ones (``--browser auto``, the
  rendered pages on an outlet flagged ``browser = true`` in an outlet registry passed
  with ``--outlets``, and script-built), against the plain crawl of the 1,000
  (``--browser never``) and the crawl of the 10 alone with the browser (``auto``, same registry). Target:
  mixed <= plain + rendered-alone. The 10 pages crawled without the browser
  (``never``) are timed too: a crawl's fixed cost (start, publishing), which
  "plain + rendered-alone" counts twice.

Every run of every contender is measured the same way (:func:`measure_run`): wall time;
CPU seconds of all its processes, exactly, from ``RUSAGE_CHILDREN`` (this process is a
child subreaper, so a process that outlives its parent is reparented here and reaped),
and by kind as last seen by the poller (crawl process, extraction workers, node driver,
Chromium); when the first node and Chromium processes started; the peak of the PSS
summed over the process tree, polled every 0.2 s from ``/proc/<pid>/smaps_rollup``
(psutil's ``memory_full_info``, as ``measure.py`` does); and after the run, every process whose environment carries the run's tag
(``SCRUBWATCH_BENCH_TAG``, set on the contender's process and inherited by Playwright's
driver and Chromium) and every process reparented here, by kind: no browser process
(Chromium, node) should be alive when a run ends; what is alive is waited for
``GRACE_SECONDS``, then killed, and reported.

A crawl that did not render exactly the pages it should is an error: the rendered
pages are counted in its dataset (``rendered``), and the baseline's screenshots.

Usage: ``.venv/bin/python bench/browser.py [--runs 3] [--only render,mixed] [--keep DIR]``
(``--rendered``, ``--plain``, ``--mixed-rendered`` change the sizes, for a quick try).
Results: ``bench/results/browser.json`` and the table on stdout.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import ctypes
import gzip
import json
import multiprocessing
import os
import platform
import random
import resource
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
CHROMIUM = "/usr/lib/chromium/chromium"
RENDER_HOST = "127.0.0.2"
PLAIN_HOST = "127.0.0.1"
TAG = "SCRUBWATCH_BENCH_TAG"
POLL_SECONDS = 0.2
GRACE_SECONDS = 5.0
MB = 1_000_000
PSS_TARGET = 1_500_000_000
# what scrubwatch's crawl is given in every benchmark here
CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "false",
    "BROWSER_PAGES": "2",
    "SSRF_ALLOWED_NETWORKS": f"{PLAIN_HOST}/32,{RENDER_HOST}/32",
}
PR_SET_CHILD_SUBREAPER = 36


# --- the network namespace ------------------------------------------------------------------


def isolated() -> bool:
    """Only ``lo`` in this network namespace (``/proc/net/dev`` is the namespace's own;
    ``/sys/class/net`` is the one sysfs was mounted in), and it answers."""
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    if [line.split(":")[0].strip() for line in lines] != ["lo"]:
        return False
    import socket

    with socket.socket() as server, socket.socket() as client:
        server.bind((PLAIN_HOST, 0))
        server.listen()
        try:
            client.connect(server.getsockname())
        except OSError:
            return False
    return True


def reexec_isolated() -> None:
    """Run this script again in a new network namespace with only loopback."""
    if os.environ.get(_REEXEC):
        raise SystemExit("unshare -n gave a namespace with more than a working lo")
    if shutil.which("unshare") is None:
        raise SystemExit("unshare (util-linux) is needed to run the benchmark off the network")
    os.environ[_REEXEC] = "1"
    script = 'ip link set lo up && exec "$@"'
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", script, "sh", PYTHON, *sys.argv])


_REEXEC = "SCRUBWATCH_BENCH_NETNS"


# --- the site -------------------------------------------------------------------------------

WORDS = (
    *("the", "council", "said", "minister", "report", "week", "statement", "city"),
    *("officials", "police", "court", "election", "government", "members", "public"),
    *("meeting", "budget", "plan", "people", "year", "health", "school", "water", "road"),
    *("community", "service", "business", "local", "families", "study", "data"),
    *("announced", "published", "reported", "confirmed", "according", "later", "during"),
)

SHELL = """<!doctype html><html><head><meta charset="utf-8"><title>Results {i}</title></head>
<body><div id="root"></div><script>
fetch('/api/{i}.json').then((r) => r.json()).then((d) => {{
  const root = document.getElementById('root');
  const h = document.createElement('h1'); h.textContent = d.title; root.appendChild(h);
  for (const text of d.paragraphs) {{
    const p = document.createElement('p'); p.textContent = text; root.appendChild(p);
  }}
  for (const src of d.images) {{
    const img = document.createElement('img'); img.src = src; img.alt = d.title;
    root.appendChild(img);
  }}
}});
</script></body></html>
"""

ARTICLE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/static/site.css"></head>
<body><header><img src="/static/logo.png" alt="logo"></header><article><h1>{title}</h1>
{paragraphs}</article></body></html>
"""


def png(width: int, height: int, seed: int) -> bytes:
    """A PNG of noise: every image its own payload, about as large as a thumbnail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    noise = random.Random(seed)
    rows = b"".join(b"\x00" + noise.randbytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def sentences(seed: int, count: int) -> list[str]:
    words = random.Random(seed)
    out = []
    for _ in range(count):
        sentence = " ".join(words.choice(WORDS) for _ in range(words.randint(12, 22)))
        out.append(sentence.capitalize() + ".")
    return out


def build_site(rendered: int, plain: int) -> dict[str, tuple[str, bytes]]:
    """path -> (content type, body), for both hosts."""
    html = "text/html; charset=utf-8"
    site: dict[str, tuple[str, bytes]] = {
        "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
        "/static/site.css": ("text/css", b"body { font: 16px serif; max-width: 40em; }\n"),
        "/static/logo.png": ("image/png", png(40, 20, -1)),
    }
    for i in range(rendered):
        images = [f"/img/{i}-{k}.png" for k in range(2 + i % 2)]
        data = {
            "title": f"Result {i}: " + sentences(10_000 + i, 1)[0][:60],
            "paragraphs": [" ".join(sentences(20_000 + 10 * i + k, 3)) for k in range(3)],
            "images": images,
        }
        site[f"/r/{i}.html"] = (html, SHELL.format(i=i).encode())
        site[f"/api/{i}.json"] = ("application/json", json.dumps(data).encode())
        for k, path in enumerate(images):
            site[path] = ("image/png", png(120, 90, 100 * i + k))
    for i in range(plain):
        text = sentences(i, 24)
        paragraphs = "\n".join(f"<p>{' '.join(text[k : k + 4])}</p>" for k in range(0, 24, 4))
        title = f"Article {i}: {text[0][:50]}"
        site[f"/p/{i}.html"] = (html, ARTICLE.format(title=title, paragraphs=paragraphs).encode())
    return site


def _kind(path: str) -> str:
    """What a hit was, for the counts: the first segment of its path."""
    return path.split("?")[0].split("/")[1] or "/"


def _serve(site: dict[str, tuple[str, bytes]], ports: dict[str, int]) -> None:
    """The server process: one server an address, hits counted by (address, kind)."""
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    hits: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: with Nagle's algorithm, the body waits
        # for the client's delayed ACK of the headers, 40 ms a response on keep-alive
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            hits["connections"] += 1

        def do_GET(self) -> None:
            if self.path == "/__hits":
                self._send(200, "application/json", json.dumps(hits).encode())
                return
            if self.path == "/__reset":
                hits.clear()
                self._send(200, "text/plain", b"ok")
                return
            host = str(self.server.server_address[0])  # type: ignore[index]
            hits[f"{host} {_kind(self.path)}"] += 1
            kind, body = site.get(self.path, ("text/plain", b"not here"))
            self._send(200 if self.path in site else 404, kind, body)

        def _send(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        # socketserver's 5 drops connections under a burst, which then wait a second
        # for the client's SYN to be sent again
        request_queue_size = 128
        daemon_threads = True

    servers = [Server((host, port), Handler) for host, port in ports.items()]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


@dataclass
class Site:
    ports: dict[str, int]
    process: BaseProcess

    def base(self, host: str) -> str:
        return f"http://{host}:{self.ports[host]}"

    def hits(self, reset: bool = True) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(self.base(PLAIN_HOST) + "/__hits", timeout=10) as answer:
            counts: dict[str, int] = json.loads(answer.read())
        if reset:
            urllib.request.urlopen(self.base(PLAIN_HOST) + "/__reset", timeout=10).read()
        return counts


def free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(site: dict[str, tuple[str, bytes]]) -> Iterator[Site]:
    import urllib.request

    ports = {host: free_port(host) for host in (PLAIN_HOST, RENDER_HOST)}
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(site, ports), daemon=True
    )
    process.start()
    live = Site(ports, process)
    deadline = time.monotonic() + 10
    for host in ports:
        while True:
            try:
                urllib.request.urlopen(live.base(host) + "/robots.txt", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or not process.is_alive():
                    raise SystemExit(f"the site's server did not start on {host}") from None
                time.sleep(0.05)
    live.hits()
    try:
        yield live
    finally:
        process.terminate()
        process.join(10)


# --- measuring a run -----------------------------------------------------------------------


@dataclass
class Run:
    """One run of one contender."""

    contender: str
    seconds: float
    returncode: int
    cpu: float  # CPU seconds (user + system) of all its processes, exact
    cpu_by_kind: dict[str, float]  # as last seen by the poller (short-lived ones: "unseen")
    peak_pss: int  # bytes, summed over the process tree
    pss_by_kind_at_peak: dict[str, int]
    peak_processes: int
    # processes of the run alive the moment it ends (with its tag, or reparented here
    # having outlived their parent), by kind, as "pid command"
    left: dict[str, list[str]]
    lingering: dict[str, list[str]]  # those alive GRACE_SECONDS later (then killed)
    exited: dict[str, list[str]]  # reparented here, having exited after their parent
    # kind -> when its first process started, seconds after the contender's own process
    started: dict[str, float]
    poller_cpu: float  # CPU seconds this process spent polling, during the run
    load: tuple[float, float]  # 1-minute load average at the start and at the end
    extra: dict[str, Any] = field(default_factory=dict)

    def browser_left(self) -> int:
        """Browser processes alive as the run ended: must be none."""
        return sum(len(self.left.get(kind, [])) for kind in BROWSER_KINDS)

    def line(self) -> str:
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in self.cpu_by_kind.items() if v >= 0.05)
        return (
            f"{self.seconds:6.1f} s wall, CPU {self.cpu:6.1f} s ({kinds}), "
            f"peak PSS {self.peak_pss / MB:5.0f} MB, {self.peak_processes} processes, "
            + "".join(
                f"{kind} from {self.started[kind]:.1f} s, "
                for kind in BROWSER_KINDS
                if kind in self.started
            )
            + f"load {self.load[0]:.1f}-{self.load[1]:.1f}"
        )


BROWSER_KINDS = ("chromium", "node")


def _process_kind(program: str) -> str:
    """What a process of a contender's tree is, by its executable: ``chromium`` (and
    the wrapper that starts it), ``node`` (Playwright's driver), ``workers`` (other
    Python processes: the extraction fork server, its workers, the resource tracker)."""
    name = Path(program).name
    if "chrom" in name or name in ("sh", "dash", "bash", "unshare"):
        return "chromium"
    if name == "node":
        return "node"
    if name.startswith("python"):
        return "workers"
    return name or "other"


def _describe(pid: int) -> tuple[str, str, bool]:
    """(kind, "pid command", alive) of a process; a zombie has its name only."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        exe = ""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone", f"{pid} (gone)", False
    name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()[0]
    words = [w.decode(errors="replace") for w in command if w]
    return _process_kind(exe or name), f"{pid} {' '.join(words)[:90] or name}", state != "Z"


def _tagged(tag: str) -> list[int]:
    """Processes whose environment holds ``tag`` (a zombie's reads empty)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if tag.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
    return found


def _reparented(keep: set[int]) -> list[int]:
    """This process's children other than ``keep``: processes that outlived their parent."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in keep:
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            found.append(int(entry.name))
    return found


def _survivors(
    tag: str, keep: set[int], seen: dict[int, str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """What is left of a run: processes alive with its tag or reparented here, and
    zombies reparented here (exited after their parent), by kind. ``seen``: commands
    as the poller saw them (a zombie's is gone)."""
    alive: dict[str, list[str]] = {}
    exited: dict[str, list[str]] = {}
    for pid in sorted({*_tagged(tag), *_reparented(keep)}):
        kind, text, running = _describe(pid)
        if kind == "gone":
            continue
        if pid in seen:
            kind, text = seen[pid].split(" ", 1)[0], f"{pid} {seen[pid].split(' ', 1)[1]}"
        (alive if running else exited).setdefault(kind, []).append(text)
    return alive, exited


def _reap(pids: list[int]) -> None:
    """Reap those of ``pids`` that have ended (zombies reparented here)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def measure_run(
    contender: str,
    command: list[str],
    *,
    log: Path,
    keep: set[int],
    env: dict[str, str] | None = None,
) -> Run:
    """Run ``command`` to its end, polling its process tree; see the module's docstring."""
    import psutil

    tag = f"{uuid.uuid4()}"
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    with log.open("w") as out:
        child = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {}), TAG: tag},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    watched = psutil.Process(child.pid)
    born = watched.create_time()  # the same clock as its descendants' (boot time + ticks)
    cpu: dict[int, float] = {}
    kinds: dict[int, str] = {child.pid: "main"}
    seen: dict[int, str] = {}  # pid -> "kind command", for what is left at the end
    first_seen: dict[str, float] = {}  # kind -> seconds from the start to its first process
    peak_pss = peak_count = 0
    at_peak: dict[str, int] = {}
    while child.poll() is None:
        try:
            members = [watched, *watched.children(recursive=True)]
        except psutil.NoSuchProcess:
            members = []
        pss: Counter[str] = Counter()
        for member in members:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied), member.oneshot():
                if member.pid not in seen:
                    kind, text, _ = _describe(member.pid)
                    kinds.setdefault(member.pid, kind)
                    seen[member.pid] = f"{kinds[member.pid]} {text.split(' ', 1)[1]}"
                    since = member.create_time() - born
                    kind = kinds[member.pid]
                    first_seen[kind] = min(first_seen.get(kind, since), since)
                times = member.cpu_times()
                cpu[member.pid] = times.user + times.system
                pss[kinds[member.pid]] += member.memory_full_info().pss
        if sum(pss.values()) > peak_pss:
            peak_pss, at_peak = sum(pss.values()), dict(pss)
        peak_count = max(peak_count, len(members))
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(POLL_SECONDS)
    seconds = time.monotonic() - started
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    left, exited = _survivors(tag, keep, seen)
    deadline = time.monotonic() + GRACE_SECONDS
    lingering = left
    while lingering and time.monotonic() < deadline:
        time.sleep(0.1)
        _reap(_reparented(keep))
        lingering, more = _survivors(tag, keep, seen)
        for kind, found in more.items():
            exited.setdefault(kind, []).extend(t for t in found if t not in exited[kind])
    for pid in {*_tagged(tag), *_reparented(keep)}:  # ended if alive, then reaped
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    exact = sum(getattr(children_after, f) - getattr(children_before, f) for f in _CPU_FIELDS)
    by_kind: dict[str, float] = {}
    for pid, seconds_used in cpu.items():
        by_kind[kinds[pid]] = by_kind.get(kinds[pid], 0.0) + seconds_used
    by_kind["unseen"] = max(exact - sum(by_kind.values()), 0.0)
    return Run(
        contender=contender,
        seconds=seconds,
        returncode=child.returncode,
        cpu=exact,
        cpu_by_kind=by_kind,
        peak_pss=peak_pss,
        pss_by_kind_at_peak=at_peak,
        peak_processes=peak_count,
        left=left,
        lingering=lingering,
        exited=exited,
        started=first_seen,
        poller_cpu=sum(getattr(self_after, f) - getattr(self_before, f) for f in _CPU_FIELDS),
        load=(load_start, os.getloadavg()[0]),
    )


_CPU_FIELDS = ("ru_utime", "ru_stime")


def cpu_limit() -> str:
    """The machine's CPU limit as this process sees it: cgroup quota, affinity, count."""
    parts = []
    for path in ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        with contextlib.suppress(OSError):
            text = Path(path).read_text().split()
            if path.endswith("cpu.max"):
                quota, period = text[0], text[1]
            else:
                quota = text[0]
                period = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().strip()
            if quota in ("max", "-1"):
                parts.append(f"cgroup {path}: no quota")
            else:
                parts.append(f"cgroup {path}: {int(quota) / int(period):g} cores")
    if not parts:
        parts.append("no cgroup CPU quota file")
    parts.append(f"sched_getaffinity: {len(os.sched_getaffinity(0))} cores")
    parts.append(f"os.cpu_count: {os.cpu_count()}")
    return "; ".join(parts)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- the contenders ---------------------------------------------------------------------------


def crawl_command(seeds: Path, store: Path, mode: str, outlets: Path | None = None) -> list[str]:
    command = [PYTHON, "-m", "crawler", "crawl", str(seeds), "--store", str(store)]
    command += ["--crawl-id", "bench"]
    if outlets is not None:
        command += ["--outlets", str(outlets)]
    command += ["--browser", mode]
    settings = {**CRAWL_SETTINGS, "STAGING_DIR": str(store.parent / "staging")}
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def baseline_command(seeds: Path, out: Path, scroll: bool) -> list[str]:
    command = [PYTHON, str(Path(__file__).resolve()), "baseline", str(seeds), "--out", str(out)]
    return command + (["--scroll"] if scroll else [])


def crawl_counts(store: Path) -> dict[str, Any]:
    """What the crawl did: its rows (rendered or not), and its crawl log by outcome."""
    import pyarrow.parquet as pq

    folder = store / "datasets" / "text" / "crawl_id=bench"
    table = pq.read_table(sorted(folder.glob("*.parquet")), columns=["url", "rendered"])
    rows = table.to_pylist()
    log_path = store / "crawls" / "bench" / "crawl-log.jsonl.gz"
    log = [json.loads(line) for line in gzip.decompress(log_path.read_bytes()).splitlines()]
    info = json.loads((store / "crawls" / "bench" / "crawl-info.json").read_text())
    return {
        "rows": len(rows),
        "rendered_rows": sum(1 for r in rows if r["rendered"]),
        "log": dict(Counter(f"{e['outcome']}/{e.get('kind', '')}".rstrip("/") for e in log)),
        "browser_requests": sum(1 for e in log if e.get("browser")),
        "warc_bytes": int(info.get("counts", {}).get("warc/bytes", 0)),
    }


def handler_scroll() -> str:
    """scrubwatch's scroll script, read from its source (importing it would bring Scrapy)."""
    source = (ROOT / "crawler" / "browser" / "handler.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "_SCROLL"
        ]:
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise SystemExit("crawler/browser/handler.py has no _SCROLL")


async def render_pages(urls: list[str], out: Path, pages: int, scroll: bool) -> None:
    """The baseline: what a user would write to save what 100 pages look like."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    scroll_script = handler_scroll() if scroll else ""
    idle_ms = 30_000 / 4  # scrubwatch's bound with BROWSER_PAGE_TIMEOUT's default
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--disable-quic", "--disable-gpu"]
        )
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900}, service_workers="block"
        )
        gate = asyncio.Semaphore(pages)

        async def save(number: int, url: str) -> None:
            async with gate:
                page = await context.new_page()
                try:
                    await page.goto(url)
                    with contextlib.suppress(PlaywrightTimeout):
                        await page.wait_for_load_state("networkidle", timeout=idle_ms)
                    if scroll:
                        await page.evaluate(scroll_script, 10)
                        with contextlib.suppress(PlaywrightTimeout):
                            await page.wait_for_load_state("networkidle", timeout=idle_ms)
                    shot = await page.screenshot(type="png", full_page=True)
                    (out / f"{number}.png").write_bytes(shot)
                    (out / f"{number}.html").write_text(await page.content())
                finally:
                    await page.close()

        await asyncio.gather(*(save(n, url) for n, url in enumerate(urls)))
        await browser.close()


def baseline_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="browser.py baseline")
    parser.add_argument("seeds", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--scroll", action="store_true")
    args = parser.parse_args(argv)
    urls = [line.split()[0] for line in args.seeds.read_text().splitlines() if line.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(render_pages(urls, args.out, args.pages, args.scroll))


# --- the benchmarks ---------------------------------------------------------------------------


@dataclass
class Bench:
    runs: int
    work: Path
    site: Site
    rendered: int
    plain: int
    mixed_rendered: int
    server_pid: int
    all_runs: list[Run] = field(default_factory=list)

    def fresh(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def run(self, contender: str, command: list[str], number: int) -> Run:
        folder = self.work / "logs"
        folder.mkdir(exist_ok=True)
        result = measure_run(
            contender,
            command,
            log=folder / f"{contender}-{number}.log",
            keep={self.server_pid},
        )
        result.extra["hits"] = self.site.hits()
        if result.returncode != 0:
            output = (folder / f"{contender}-{number}.log").read_text()[-3000:]
            raise SystemExit(f"{contender} failed (exit {result.returncode}):\n{output}")
        self.all_runs.append(result)
        print(f"  {contender:<22} run {number + 1}: {result.line()}", flush=True)
        for what in ("left", "lingering", "exited"):
            for kind, found in getattr(result, what).items():
                print(f"    {what} ({kind}): {found}", flush=True)
        return result


def rotate(runs: int, jobs: list[Callable[[int], Any]]) -> None:
    """Each job ``runs`` times, the order rotating, so that drift hits every one alike."""
    for number in range(runs):
        shift = number % len(jobs)
        for job in jobs[shift:] + jobs[:shift]:
            job(number)


def write_seeds(path: Path, urls: list[str]) -> Path:
    path.write_text("".join(f"{url}\n" for url in urls))
    return path


def summary(runs: list[Run]) -> dict[str, Any]:
    """Medians of a contender's runs."""
    kinds = sorted({k for r in runs for k in r.cpu_by_kind})
    return {
        "runs": len(runs),
        "seconds": median([r.seconds for r in runs]),
        "seconds_range": [min(r.seconds for r in runs), max(r.seconds for r in runs)],
        "cpu": median([r.cpu for r in runs]),
        "cpu_by_kind": {k: median([r.cpu_by_kind.get(k, 0.0) for r in runs]) for k in kinds},
        "peak_pss_mb": median([r.peak_pss / MB for r in runs]),
        "peak_pss_mb_range": [
            min(r.peak_pss for r in runs) / MB,
            max(r.peak_pss for r in runs) / MB,
        ],
        "browser_processes_left": sum(r.browser_left() for r in runs),
        "poller_cpu": median([r.poller_cpu for r in runs]),
    }


def bench_render(bench: Bench) -> dict[str, Any]:
    base = bench.site.base(RENDER_HOST)
    urls = [f"{base}/r/{i}.html" for i in range(bench.rendered)]
    seeds = write_seeds(bench.work / "render.seeds", urls)
    runs: dict[str, list[Run]] = {"scrubwatch": [], "playwright": [], "playwright+scroll": []}

    def ours(n: int) -> None:
        store = bench.fresh(f"render-{n}") / "store"
        run = bench.run("scrubwatch", crawl_command(seeds, store, "always"), n)
        run.extra |= crawl_counts(store)
        if run.extra["rendered_rows"] != bench.rendered:
            raise SystemExit(f"scrubwatch rendered {run.extra['rendered_rows']} pages: {run.extra}")
        runs["scrubwatch"].append(run)

    def baseline(scroll: bool) -> Callable[[int], None]:
        name = "playwright+scroll" if scroll else "playwright"

        def job(n: int) -> None:
            out = bench.fresh(f"render-{name}-{n}")
            run = bench.run(name, baseline_command(seeds, out, scroll), n)
            shots = len(list(out.glob("*.png")))
            if shots != bench.rendered:
                raise SystemExit(f"{name} saved {shots} screenshots")
            run.extra["saved"] = shots
            runs[name].append(run)

        return job

    rotate(bench.runs, [ours, baseline(False), baseline(True)])
    result = {name: summary(done) for name, done in runs.items()}
    for name, done in runs.items():
        result[name]["pages_per_second"] = bench.rendered / result[name]["seconds"]
        result[name]["hits"] = done[-1].extra["hits"]
    ours_s = result["scrubwatch"]["seconds"]
    result["ratio"] = {
        "scrubwatch_over_playwright": ours_s / result["playwright"]["seconds"],
        "scrubwatch_over_playwright_scroll": ours_s / result["playwright+scroll"]["seconds"],
        "paired": sorted(
            o.seconds / b.seconds
            for o, b in zip(runs["scrubwatch"], runs["playwright"], strict=True)
        ),
    }
    peak = result["scrubwatch"]["peak_pss_mb"] * MB
    result["pss_target_met"] = peak < PSS_TARGET
    result["crawl"] = {k: v for k, v in runs["scrubwatch"][-1].extra.items() if k != "hits"}
    result["pss_by_kind_at_peak_mb"] = {
        k: v / MB
        for k, v in max(runs["scrubwatch"], key=lambda r: r.peak_pss).pss_by_kind_at_peak.items()
    }
    return result


def write_registry(path: Path, site: Site) -> Path:
    path.write_text(
        f"""[outlets.bench-plain]
name = "Bench plain outlet"
domains = ["{PLAIN_HOST}"]
start_urls = ["{site.base(PLAIN_HOST)}/"]
browser = false

[outlets.bench-rendered]
name = "Bench rendered outlet"
domains = ["{RENDER_HOST}"]
start_urls = ["{site.base(RENDER_HOST)}/"]
browser = true
"""
    )
    return path


def bench_mixed(bench: Bench) -> dict[str, Any]:
    registry = write_registry(bench.work / "outlets.toml", bench.site)
    plain = [f"{bench.site.base(PLAIN_HOST)}/p/{i}.html" for i in range(bench.plain)]
    rendered = [f"{bench.site.base(RENDER_HOST)}/r/{i}.html" for i in range(bench.mixed_rendered)]
    step = max(bench.plain // max(bench.mixed_rendered, 1), 1)
    mixed = list(plain)
    for k, url in enumerate(rendered):  # spread through the crawl
        mixed.insert(min(k * (step + 1) + step // 2, len(mixed)), url)
    seeds = {
        "mixed": write_seeds(bench.work / "mixed.seeds", mixed),
        "plain": write_seeds(bench.work / "plain.seeds", plain),
        "rendered-alone": write_seeds(bench.work / "rendered.seeds", rendered),
        "rendered-unrendered": bench.work / "rendered.seeds",
    }
    modes = {
        "mixed": "auto",
        "plain": "never",
        "rendered-alone": "auto",
        "rendered-unrendered": "never",
    }
    expected = {
        "mixed": (len(mixed), len(rendered)),
        "plain": (len(plain), 0),
        "rendered-alone": (len(rendered), len(rendered)),
        "rendered-unrendered": (len(rendered), 0),
    }
    runs: dict[str, list[Run]] = {name: [] for name in modes}

    def job(name: str) -> Callable[[int], None]:
        def run(n: int) -> None:
            store = bench.fresh(f"mixed-{name}-{n}") / "store"
            done = bench.run(name, crawl_command(seeds[name], store, modes[name], registry), n)
            done.extra |= crawl_counts(store)
            rows, rendered_rows = expected[name]
            if (done.extra["rows"], done.extra["rendered_rows"]) != (rows, rendered_rows):
                raise SystemExit(
                    f"{name}: {done.extra['rows']} rows, {done.extra['rendered_rows']} of them "
                    f"rendered, not {rows} and {rendered_rows}"
                )
            runs[name].append(done)

        return run

    rotate(bench.runs, [job(name) for name in modes])
    result: dict[str, Any] = {name: summary(done) for name, done in runs.items()}
    for name, done in runs.items():
        result[name]["crawl"] = {k: v for k, v in done[-1].extra.items() if k != "hits"}
    mixed_s = result["mixed"]["seconds"]
    plain_s = result["plain"]["seconds"]
    alone_s = result["rendered-alone"]["seconds"]
    fixed_s = result["rendered-unrendered"]["seconds"]
    result["check"] = {
        "mixed": mixed_s,
        "plain_plus_rendered_alone": plain_s + alone_s,
        "met": mixed_s <= plain_s + alone_s,
        "rendering_alone": alone_s - fixed_s,
        "rendering_in_mixed": mixed_s - plain_s,
        "paired": [
            m.seconds - p.seconds - a.seconds
            for m, p, a in zip(runs["mixed"], runs["plain"], runs["rendered-alone"], strict=True)
        ],
    }
    return result


def report(results: dict[str, Any], bench: Bench) -> str:
    lines = []
    if "render" in results:
        r = results["render"]
        lines.append(f"render: {bench.rendered} script-built pages, BROWSER_PAGES=2 (medians)")
        lines.append("  contender            wall s  pages/s   CPU s  peak PSS MB  CPU by kind")
        for name in ("scrubwatch", "playwright", "playwright+scroll"):
            s = r[name]
            kinds = ", ".join(f"{k} {v:.1f}" for k, v in s["cpu_by_kind"].items() if v >= 0.05)
            lines.append(
                f"  {name:<19} {s['seconds']:7.1f} {s['pages_per_second']:8.2f} {s['cpu']:7.1f}"
                f" {s['peak_pss_mb']:12.0f}  {kinds}"
            )
        ratio = r["ratio"]
        paired = ratio["paired"]
        lines.append(
            f"  scrubwatch / playwright wall time: {ratio['scrubwatch_over_playwright']:.2f}x "
            f"(runs {paired[0]:.2f}-{paired[-1]:.2f}); / playwright+scroll: "
            f"{ratio['scrubwatch_over_playwright_scroll']:.2f}x"
        )
        at_peak = ", ".join(f"{k} {v:.0f}" for k, v in r["pss_by_kind_at_peak_mb"].items())
        lines.append(
            f"  peak PSS of the crawl: {r['scrubwatch']['peak_pss_mb']:.0f} MB (target < "
            f"{PSS_TARGET / MB:.0f} MB: {'met' if r['pss_target_met'] else 'MISSED'}); "
            f"at the highest peak, MB: {at_peak}"
        )
    if "mixed" in results:
        m = results["mixed"]
        check = m["check"]
        lines.append(
            f"mixed: {bench.plain} plain pages with {bench.mixed_rendered} rendered (medians)"
        )
        lines.append("  contender            wall s   CPU s  peak PSS MB  rows / rendered")
        for name in ("mixed", "plain", "rendered-alone", "rendered-unrendered"):
            s = m[name]
            lines.append(
                f"  {name:<19} {s['seconds']:7.1f} {s['cpu']:7.1f} {s['peak_pss_mb']:12.0f}"
                f"  {s['crawl']['rows']} / {s['crawl']['rendered_rows']}"
            )
        lines.append(
            f"  mixed {check['mixed']:.1f} s <= plain + rendered-alone "
            f"{check['plain_plus_rendered_alone']:.1f} s: {'met' if check['met'] else 'MISSED'}"
            f" (per run, mixed - plain - alone: "
            + ", ".join(f"{d:+.1f}" for d in check["paired"])
            + " s)"
        )
        lines.append(
            f"  the rendering's own time: in the mixed crawl {check['rendering_in_mixed']:.1f} s "
            f"(mixed - plain), alone {check['rendering_alone']:.1f} s "
            "(rendered-alone - rendered-unrendered)"
        )
    runs = bench.all_runs
    polled = [r.poller_cpu / r.seconds for r in runs]
    lines.append(
        f"the poller (this process: /proc of every process of the tree every {POLL_SECONDS:g} s)"
        f" used {median(polled):.1%} of a core (median of the runs, at most {max(polled):.1%})"
    )

    def count(what: str, browser: bool) -> str:
        tally = Counter(
            kind
            for r in runs
            for kind, found in getattr(r, what).items()
            for _ in found
            if (kind in BROWSER_KINDS) == browser
        )
        return ", ".join(f"{k} {n}" for k, n in sorted(tally.items())) or "none"

    lines.append(
        f"after {len(runs)} runs: browser processes (chromium, node) alive as a run ended: "
        f"{count('left', True)}; {GRACE_SECONDS:g} s later: {count('lingering', True)}"
    )
    lines.append(
        f"  other processes alive as a run ended: {count('left', False)}; {GRACE_SECONDS:g} s "
        f"later: {count('lingering', False)}"
    )
    lines.append(
        "  exited after their parent (reparented to this process, reaped here): browser "
        f"{count('exited', True)}; other {count('exited', False)}"
    )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "baseline":
        baseline_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="render,mixed")
    parser.add_argument("--rendered", type=int, default=100)
    parser.add_argument("--plain", type=int, default=1000)
    parser.add_argument("--mixed-rendered", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="keep the stores and logs in this folder")
    args = parser.parse_args()
    if not isolated():
        reexec_isolated()
    with contextlib.suppress(ImportError):
        import psutil  # noqa: F401
    if "psutil" not in sys.modules:
        pip = [PYTHON, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]"]
        subprocess.run(pip, check=True)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    only = args.only.split(",")
    print(f"CPU limit: {cpu_limit()}", flush=True)
    print("network: only lo, in a namespace of its own", flush=True)
    started = datetime.now(UTC)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-browser-"))
    work.mkdir(parents=True, exist_ok=True)
    site = build_site(max(args.rendered, args.mixed_rendered), args.plain)
    results: dict[str, Any] = {}
    try:
        with serve(site) as live:
            assert live.process.pid is not None
            bench = Bench(
                args.runs, work, live, args.rendered, args.plain, args.mixed_rendered,
                live.process.pid,
            )  # fmt: skip
            if "render" in only:
                print(f"render: {args.rendered} pages, {args.runs} runs", flush=True)
                results["render"] = bench_render(bench)
            if "mixed" in only:
                print(
                    f"mixed: {args.plain} + {args.mixed_rendered} pages, {args.runs} runs",
                    flush=True,
                )
                results["mixed"] = bench_mixed(bench)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    text = report(results, bench)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "browser.json").write_text(
        json.dumps(
            {
                "started": started.isoformat(timespec="seconds"),
                "commit": subprocess.run(
                    ["git", "rev-parse", "--short", "HEAD"],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                ).stdout.strip(),
                "machine": {"cpu_limit": cpu_limit(), "platform": platform.platform()},
                "results": results,
                "runs": [asdict(r) for r in bench.all_runs],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
