"""Crawling the web as it decays: dead image hosts, and a recrawl whose images answer 404.

Each figure is the crawl with the fault against the same crawl without it, in the same
command, ``--runs`` times (default 3), the contenders' order rotating from run to run;
medians are reported. Everything runs on loopback in a network namespace of its own (the
script re-runs itself under ``unshare -n`` with only ``lo`` up, as ``browser.py`` does),
so names fail at once, as they do for a resolver that answers NXDOMAIN, and nothing
leaves the machine.

The site: a Python ``ThreadingHTTPServer`` in a process of its own (HTTP/1.1 keep-alive),
pages ``/p/<i>.html`` (a title and six paragraphs) on ``127.0.0.1`` and their images
``/img/<i>-<k>.gif`` (a GIF each, all distinct) on ``127.0.0.2``, robots.txt allowing all.

- ``dead``: ``--pages`` pages (default 40), each with 3 live images, and 6 dead ones:
  ``dns`` puts all 6 on two names under ``.invalid`` (the issue's case: hosts that no
  longer resolve); ``mixed`` puts 2 there, 2 on ``127.0.0.3`` at a port where nothing
  listens (refused), 2 on ``127.0.0.4`` at a socket that accepts connections and never
  answers a byte. Against ``plain``: the same pages with their 3 live images only. The
  bound: ``mixed <= plain + 2 x DOWNLOAD_TIMEOUT + 20 s``.
- ``recrawl``: ``--recrawl-pages`` pages (default 60), 3 images each; ``first`` crawls
  them into a fresh store, ``recrawl`` crawls them again into the same store once every
  image answers 404 (the pages are unchanged). The ratio is per run, recrawl / first.

Every crawl is ``scrubwatch crawl <seeds> --store ... -s DOWNLOAD_TIMEOUT=<--timeout>``
with the project's defaults otherwise (AutoThrottle on, extraction on, robots.txt obeyed),
and ``SSRF_ALLOWED_NETWORKS`` opening the four loopback addresses. Each run is measured by
its wall time, and the CPU seconds of all its processes (the crawl, its extraction fork
server and workers: ``RUSAGE_CHILDREN`` once it is reaped), beside the machine's CPU limit
and load average. A crawl that did not capture the pages and live images it should, or
did not log every dead image as failed, is an error.

``--before dns,recrawl`` (any of ``plain,dns,mixed,recrawl``) adds, once each, those
crawls as Scrapy runs them without this project's answers (``DEAD_HOST_FAILURES=0`` and
Scrapy's own AutoThrottle): what the issue measured. They take minutes: each dead request
is retried and waits its turn in its host's slot, at AutoThrottle's start delay (``mixed``:
about ``pages x 2 x 3 x timeout / 4`` seconds on the silent host alone).

Usage: ``.venv/bin/python bench/decay.py [--runs 3] [--timeout 10] [--before dns,recrawl]
[--keep DIR]``.
Results: ``bench/results/decay.json`` and the table on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import multiprocessing
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from browser import cpu_limit, isolated, median, reexec_isolated

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
PAGES_AT, IMAGES_AT, REFUSED_AT, SILENT_AT = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"
DEAD_NAMES = ("cdn0.gone.invalid", "cdn1.gone.invalid")
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
    b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
TEXT = "".join(
    f"<p>Paragraph {n}: what the council said about the harbour, the budget and the "
    f"road, as the paper reported it that week.</p>"
    for n in range(6)
)
# what the project's own politeness and fault handling are replaced with for --before
BEFORE = {
    "DEAD_HOST_FAILURES": "0",
    "EXTENSIONS": json.dumps(
        {
            "scrapy.extensions.throttle.AutoThrottle": 0,
            "crawler.throttle.PoliteThrottle": None,
            "crawler.fetcherrors.QuietFetchErrors": 0,
            "pipelines.warc.WarcCapture": 100,
            "pipelines.publish.PublishCrawl": 200,
            "crawler.memory.ReleaseFreeMemory": 300,
        }
    ),
}


# --- the site ---------------------------------------------------------------------------------


def page(title: str, images: list[str]) -> bytes:
    tags = "".join(f'<img src="{url}" alt="photo">' for url in images)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1>{TEXT}{tags}</article></body></html>"
    ).encode()


def _serve(pages: dict[str, bytes], ports: dict[str, int], gone: Event) -> None:
    """The site's server process: pages on PAGES_AT, images on IMAGES_AT, the silent socket."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body, kind, status = b"<html><body>Not found</body></html>", "text/html", 404
            if self.path == "/robots.txt":
                body, kind, status = b"User-agent: *\nAllow: /\n", "text/plain", 200
            elif self.path in pages:
                body, kind, status = pages[self.path], "text/html; charset=utf-8", 200
            elif self.path.startswith("/img/") and not gone.is_set():
                body, kind, status = GIF + self.path.encode(), "image/gif", 200
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128

        def server_bind(self) -> None:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().server_bind()

    silent = socket.socket()
    silent.bind((SILENT_AT, ports[SILENT_AT]))
    silent.listen(128)
    held: list[socket.socket] = []
    threading.Thread(
        target=lambda: held.extend(iter(lambda: silent.accept()[0], None)), daemon=True
    ).start()
    servers = [Server((host, ports[host]), Handler) for host in (PAGES_AT, IMAGES_AT)]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    ports: dict[str, int]
    gone: Event
    process: multiprocessing.Process

    def base(self, host: str) -> str:
        return f"http://{host}:{self.ports[host]}"


@contextlib.contextmanager
def serve(pages: dict[str, bytes], ports: dict[str, int]) -> Iterator[Site]:
    gone = multiprocessing.get_context("fork").Event()
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(pages, ports, gone), daemon=True
    )
    process.start()
    try:
        for host in (PAGES_AT, IMAGES_AT, SILENT_AT):
            deadline = time.monotonic() + 10
            while True:
                with socket.socket() as probe:
                    if probe.connect_ex((host, ports[host])) == 0:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit(f"the site did not start on {host}")
                time.sleep(0.05)
        yield Site(ports, gone, process)
    finally:
        process.kill()
        process.join()


def build(
    ports: dict[str, int], pages: int, recrawl_pages: int
) -> tuple[dict[str, bytes], dict[str, dict[str, list[str]]]]:
    """The site's pages, and for each contender its seed URLs, its live and dead images."""
    images = f"http://{IMAGES_AT}:{ports[IMAGES_AT]}"
    refused = f"http://{REFUSED_AT}:{ports[REFUSED_AT]}"
    silent = f"http://{SILENT_AT}:{ports[SILENT_AT]}"
    site: dict[str, bytes] = {}
    contenders: dict[str, dict[str, list[str]]] = {}
    for name, count in (
        ("plain", pages),
        ("dns", pages),
        ("mixed", pages),
        ("recrawl", recrawl_pages),
    ):
        seeds, live, dead = [], [], []
        for i in range(count):
            own = [f"{images}/img/{name}-{i}-{k}.gif" for k in range(3)]
            gone = {
                "plain": [],
                "recrawl": [],
                "dns": [f"http://{DEAD_NAMES[k % 2]}/{name}-{i}-{k}.jpg" for k in range(6)],
                "mixed": [
                    *(f"http://{DEAD_NAMES[k]}/{name}-{i}-{k}.jpg" for k in range(2)),
                    *(f"{refused}/{name}-{i}-{k}.jpg" for k in range(2)),
                    *(f"{silent}/{name}-{i}-{k}.jpg" for k in range(2)),
                ],
            }[name]
            path = f"/p/{name}-{i}.html"
            site[path] = page(f"{name} story {i}", own + gone)
            seeds.append(f"http://{PAGES_AT}:{ports[PAGES_AT]}{path}")
            live += own
            dead += gone
        contenders[name] = {"seeds": seeds, "live": live, "dead": dead}
    return site, contenders


# --- runs -------------------------------------------------------------------------------------


@dataclass
class Run:
    contender: str
    number: int
    seconds: float
    cpu: float  # CPU seconds of all its processes
    load: tuple[float, float]  # 1-minute load average at its start and end
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.contender:>16} run {self.number}: {self.seconds:6.1f} s wall, "
            f"CPU {self.cpu:5.1f} s, load {self.load[0]:.1f}-{self.load[1]:.1f}"
        )


def crawl(seeds: Path, store: Path, crawl_id: str, timeout: int, before: bool) -> list[str]:
    command = [PYTHON, "-m", "crawler", "crawl", str(seeds), "--store", str(store)]
    command += ["--crawl-id", crawl_id, "-s", f"DOWNLOAD_TIMEOUT={timeout}"]
    networks = ",".join(f"{host}/32" for host in (PAGES_AT, IMAGES_AT, REFUSED_AT, SILENT_AT))
    command += ["-s", f"SSRF_ALLOWED_NETWORKS={networks}"]
    for name, value in (BEFORE if before else {}).items():
        command += ["-s", f"{name}={value}"]
    return command


def timed(contender: str, number: int, command: list[str], log: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{contender} failed (exit {done.returncode}): see {log}")
    cpu = sum(getattr(after, f) - getattr(before, f) for f in ("ru_utime", "ru_stime"))
    return Run(contender, number, seconds, cpu, (load, os.getloadavg()[0]))


def checked(run: Run, store: Path, crawl_id: str, expected: dict[str, list[str]]) -> Run:
    """``run`` with its crawl's counts, once its crawl log shows what it should."""
    folder = store / "crawls" / crawl_id
    entries = [
        json.loads(line)
        for line in gzip.decompress(folder.joinpath("crawl-log.jsonl.gz").read_bytes()).splitlines()
    ]
    outcome = {entry["url"]: entry["outcome"] for entry in entries}
    missing = [u for u in expected["seeds"] + expected["live"] if outcome.get(u) != "captured"]
    unfailed = [u for u in expected["dead"] if outcome.get(u) != "failed"]
    if missing or unfailed:
        raise SystemExit(
            f"{run.contender} run {run.number}: not captured {missing[:3]} ({len(missing)}), "
            f"dead but not failed {unfailed[:3]} ({len(unfailed)})"
        )
    counts = json.loads(folder.joinpath("crawl-info.json").read_text())["counts"]
    run.counts = {
        k: v
        for k, v in counts.items()
        if k.startswith(
            ("crawl/", "deadhost/", "throttle/", "retry/count", "downloader/request_count")
        )
    }
    return run


@dataclass
class Bench:
    work: Path
    timeout: int
    contenders: dict[str, dict[str, list[str]]]
    site: Site
    runs: list[Run] = field(default_factory=list)

    def seeds(self, name: str) -> Path:
        path = self.work / f"{name}.seeds"
        path.write_text("".join(f"{url}\n" for url in self.contenders[name]["seeds"]))
        return path

    def fresh(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def dead(self, name: str, number: int, before: bool = False) -> None:
        label = f"{name} (before)" if before else name
        store = self.fresh(f"{name}-{number}{'-before' * before}")
        command = crawl(self.seeds(name), store / "archive", "bench", self.timeout, before)
        run = timed(label, number, command, store / "crawl.log")
        self.record(checked(run, store / "archive", "bench", self.contenders[name]))

    def recrawl(self, number: int, before: bool = False) -> None:
        suffix = " (before)" if before else ""
        store = self.fresh(f"recrawl-{number}{'-before' * before}")
        expected = self.contenders["recrawl"]
        for crawl_id in ("first", "recrawl"):
            if crawl_id == "recrawl":
                self.site.gone.set()
            command = crawl(
                self.seeds("recrawl"), store / "archive", crawl_id, self.timeout, before
            )
            run = timed(crawl_id + suffix, number, command, store / f"{crawl_id}.log")
            self.record(checked(run, store / "archive", crawl_id, expected))
        self.site.gone.clear()

    def record(self, run: Run) -> None:
        print(run.line(), flush=True)
        self.runs.append(run)

    def of(self, contender: str) -> list[Run]:
        return [run for run in self.runs if run.contender == contender]


def rotate(runs: int, jobs: list[Callable[[int], Any]]) -> None:
    """Each job ``runs`` times, the order shifting by one from run to run."""
    for number in range(runs):
        shift = number % len(jobs)
        for job in jobs[shift:] + jobs[:shift]:
            job(number)


# --- the report -------------------------------------------------------------------------------


def _row(bench: Bench, contender: str) -> str:
    runs = bench.of(contender)
    seconds = [r.seconds for r in runs]
    return (
        f"| {contender} | {median(seconds):.1f} ({min(seconds):.1f}-{max(seconds):.1f}) | "
        f"{median([r.cpu for r in runs]):.1f} | "
        f"{median([r.counts.get('deadhost/skipped', 0) for r in runs]):.0f} | "
        f"{median([r.counts.get('retry/count', 0) for r in runs]):.0f} | "
        f"{min(r.load[0] for r in runs):.1f}-{max(r.load[1] for r in runs):.1f} |"
    )


def report(bench: Bench, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    lines = [
        f"wall s: median (min-max) of {args.runs} runs; CPU s: all processes of the crawl, median",
        "",
        "| crawl | wall s | CPU s | requests not sent (dead host) | retries | load |",
        "|---|---:|---:|---:|---:|---|",
    ]
    names = [n for n in ("plain", "dns", "mixed", "first", "recrawl") if bench.of(n)]
    names += [n for n in dict.fromkeys(r.contender for r in bench.runs) if n not in names]
    lines += [_row(bench, name) for name in names]
    figures: dict[str, Any] = {}
    plain = {r.number: r.seconds for r in bench.of("plain")}
    for name in ("dns", "mixed"):
        ratios = [r.seconds / plain[r.number] for r in bench.of(name) if r.number in plain]
        if not ratios:
            continue
        excess = [r.seconds - plain[r.number] for r in bench.of(name) if r.number in plain]
        figures[name] = {
            "ratio": median(ratios),
            "ratios": ratios,
            "excess_seconds": median(excess),
        }
        lines.append(
            f"- {name} / plain: **{median(ratios):.2f}x** (runs {min(ratios):.2f}-"
            f"{max(ratios):.2f}), {median(excess):+.1f} s"
            + (
                f"; bound plain + 2 x {bench.timeout} + 20 s: "
                + ("met" if all(e <= 2 * bench.timeout + 20 for e in excess) else "MISSED")
                if name == "mixed"
                else ""
            )
        )
    first = {r.number: r.seconds for r in bench.of("first")}
    ratios = [r.seconds / first[r.number] for r in bench.of("recrawl") if r.number in first]
    if ratios:
        figures["recrawl"] = {"ratio": median(ratios), "ratios": ratios}
        lines.append(
            f"- recrawl (every image 404) / first crawl: **{median(ratios):.2f}x** "
            f"(runs {min(ratios):.2f}-{max(ratios):.2f}); target <= 1.5x: "
            + ("met" if median(ratios) <= 1.5 else "MISSED")
        )
    for name in ("plain", "dns", "mixed", "first", "recrawl"):
        runs = bench.of(f"{name} (before)")
        if runs:
            lines.append(f"- before, {name}: {runs[0].seconds:.1f} s, CPU {runs[0].cpu:.1f} s")
    return "\n".join(lines), figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--recrawl-pages", type=int, default=60)
    parser.add_argument("--timeout", type=int, default=10, help="DOWNLOAD_TIMEOUT, seconds")
    parser.add_argument(
        "--before", default="", help="plain,dns,mixed,recrawl: also Scrapy's way, once each"
    )
    parser.add_argument("--keep", type=Path, help="keep the stores and logs in this folder")
    args = parser.parse_args()
    if not isolated():
        reexec_isolated()
    print(f"CPU limit: {cpu_limit()}", flush=True)
    print("network: only lo, in a namespace of its own", flush=True)
    started = datetime.now(UTC)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-decay-"))
    work.mkdir(parents=True, exist_ok=True)
    ports = {host: free_port(host) for host in (PAGES_AT, IMAGES_AT, REFUSED_AT, SILENT_AT)}
    pages, contenders = build(ports, args.pages, args.recrawl_pages)
    try:
        with serve(pages, ports) as site:
            bench = Bench(work, args.timeout, contenders, site)
            print(f"dead: {args.pages} pages, {args.runs} runs", flush=True)
            rotate(
                args.runs,
                [lambda n, name=name: bench.dead(name, n) for name in ("plain", "dns", "mixed")],
            )
            print(f"recrawl: {args.recrawl_pages} pages, {args.runs} runs", flush=True)
            rotate(args.runs, [bench.recrawl])
            before = [name for name in args.before.split(",") if name]
            if before:
                print(f"before: {', '.join(before)}, once each", flush=True)
            for name in before:
                if name == "recrawl":
                    bench.recrawl(0, before=True)
                else:
                    bench.dead(name, 0, before=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    text, figures = report(bench, args)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    (RESULTS / "decay.json").write_text(
        json.dumps(
            {
                "started": started.isoformat(timespec="seconds"),
                "commit": commit,
                "machine": {"cpu_limit": cpu_limit(), "platform": platform.platform()},
                "args": {k: str(v) for k, v in vars(args).items()},
                "figures": figures,
                "runs": [asdict(run) for run in bench.runs],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
