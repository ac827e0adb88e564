"""The benchmark suite: every figure a ratio against a baseline run in the same command.

Serves the benchmark site (``newssite.py``: the extraction sample's real news pages,
replicated under distinct URLs) with nginx on 127.0.0.1, runs each benchmark
``--runs`` times, baseline and project alternating, and reports medians. Results go to
``bench/results/<name>.json`` and a table to stdout and ``bench/results/summary.md``
(``summary-<names>.md`` for a selection other than the default).

Benchmarks (``--only NAME[,NAME...]``; the default runs the first four):

- ``crawl``: crawl + WARC capture, no extraction, no dataset: pages/s against a bare
  Scrapy ``CrawlSpider`` (``baselines.py bare``). Target >= 0.85x.
- ``e2e``: crawl, WARC, extraction, dataset written to the store: wall time against a
  naive one-process spider (``baselines.py naive``). Target >= 2.5x faster.
- ``like``: figure 2 re-based, like for like (see ``bench_like``): on a site of
  ``--like-pages`` real news pages with no requisite to fetch, the project's end-to-end
  crawl (the baselines' concurrency, no AutoThrottle) against the spider a user writes
  (``baselines.py naive --no-requisites``) and bare Scrapy; every contender's wall time,
  CPU of all its processes, and the requests the server saw; the two-core limit from the
  project's own CPU; the tail (last request to exit); and the project with its default
  settings beside them.
- ``e2e-fast``: ``e2e`` with the project's ``EXTRACT_FAST`` (trafilatura without its
  fallback extractors), against the same naive spider: not figure 2, which compares the
  same work; what the fast mode buys.
- ``recrawl``: the same site crawled again into the same store: bytes the second crawl
  adds (WARC files, and all its files) over the first crawl's. Target < 5%.
  Reuses the stores of ``e2e`` when both run.
- ``s3``: a crawl into moto's S3 server: requests by method, PUTs per 1,000 pages
  against files stored. Target: PUTs proportional to files, not pages.
- ``memory``: peak RSS (crawl process, and with its extraction workers) of crawls of
  ``--memory-pages`` pages (default 5,000 and 20,000). Target < 500 MB, not growing
  with pages. Long: about 26 minutes a run on 2 cores.
- ``profile``: py-spy profiles of the bare spider, the project's crawl without and with
  extraction, and the naive spider; where the time goes, per process.
- ``extraction``: the extraction benchmark (``extraction.py``, its own section).

Usage: ``.venv/bin/python bench/run.py [--only crawl,e2e] [--runs 3] [--pages 2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def ensure_bench_extras() -> None:
    """``make bench`` installs the test extras only: add the bench extras when missing."""
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("installing the bench extras: pip install -e '.[bench]'", file=sys.stderr)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]"]
        subprocess.run(pip, check=True)


ensure_bench_extras()

import measure  # noqa: E402
import newssite  # noqa: E402
import s3count  # noqa: E402
from baselines import BENCH_OVERRIDES  # noqa: E402

from storage.layout import crawl_folder, crawl_prefixes  # noqa: E402

RESULTS = BENCH / "results"
PYTHON = sys.executable
MB = 1_000_000
CRAWL_ID_FIRST, CRAWL_ID_SECOND = "bench-1", "bench-2"


@dataclass
class Context:
    runs: int
    count_runs: int
    pages: int
    memory_pages: list[int]
    work: Path
    stack: ExitStack
    sites: dict[int, newssite.Site] = field(default_factory=dict)
    like_sites: dict[int, newssite.Site] = field(default_factory=dict)
    like_pages: int = 1000
    defaults_runs: int = 1
    e2e_stores: list[Path] = field(default_factory=list)
    summary: list[tuple[str, str, str, str]] = field(default_factory=list)

    def site(self, pages: int) -> newssite.Site:
        """The site of ``pages`` pages, built and served on first use, and its seeds written."""
        if pages not in self.sites:
            built = newssite.build_site(self.work / f"site-{pages}", pages)
            self.sites[pages] = self.stack.enter_context(newssite.serve(built))
            # written anew each time it is served: a seeds file left in the workdir by an
            # earlier run names that run's port
            self.sites[pages].write_seeds(self._seeds_path(pages))
        return self.sites[pages]

    def like_site(self, pages: int) -> tuple[newssite.Site, Path]:
        """The like-for-like site (no requisites to fetch), served with an access log,
        and its seeds file."""
        seeds = self.work / f"like-{pages}.seeds"
        if pages not in self.like_sites:
            built = newssite.build_site(self.work / f"like-{pages}", pages, requisites=False)
            served = self.stack.enter_context(newssite.serve(built, access_log=True))
            self.like_sites[pages] = served
            served.write_seeds(seeds)
        return self.like_sites[pages], seeds

    def seeds(self, pages: int) -> Path:
        self.site(pages)
        return self._seeds_path(pages)

    def _seeds_path(self, pages: int) -> Path:
        return self.work / f"site-{pages}.seeds"

    def fresh(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


# --- commands ----------------------------------------------------------------------------


def overrides(**more: Any) -> list[str]:
    """``-s NAME=VALUE`` arguments: the benchmarks' shared overrides, then ``more``."""
    args = []
    for name, value in {**BENCH_OVERRIDES, **more}.items():
        text = json.dumps(value) if isinstance(value, bool | dict) else str(value)
        args += ["-s", f"{name}={text}"]
    return args


def no_dataset_pipelines() -> dict[str, int]:
    """The project's item pipelines without the dataset (``-s`` replaces the whole dict)."""
    from crawler import settings

    return {
        k: v for k, v in settings.ITEM_PIPELINES.items() if k != "pipelines.dataset.DatasetPipeline"
    }


def project_command(
    seeds: Path, store: str, crawl_id: str, staging: Path, *, extract: bool = True, **more: Any
) -> list[str]:
    command = [PYTHON, "-m", "crawler", "crawl", str(seeds), "--store", store]
    command += ["--crawl-id", crawl_id, "--allow-private", "--depth", "1"]
    extra: dict[str, Any] = {"STAGING_DIR": staging, **more}
    if not extract:
        extra |= {"EXTRACT_ENABLED": False, "ITEM_PIPELINES": no_dataset_pipelines()}
    return command + overrides(**extra)


def baseline_command(kind: str, seeds: Path, out: Path, *, requisites: bool = True) -> list[str]:
    script = str(BENCH / "baselines.py")
    command = [PYTHON, script, kind, str(seeds), "--out", str(out)]
    return (
        command + ["--stats", str(out / "stats.json")] + ([] if requisites else ["--no-requisites"])
    )


def crawl_info(store: Path, crawl_id: str) -> dict[str, Any]:
    info: dict[str, Any] = json.loads((store / "crawls" / crawl_id / "crawl-info.json").read_text())
    return info


def project_counts(info: dict[str, Any]) -> dict[str, int]:
    counts = info.get("counts", {})
    keep = (
        *("downloader/request_count", "downloader/response_count", "crawl/items/cited"),
        *("crawl/items/linked", "crawl/items/requisite", "warc/bytes", "dataset/rows"),
    )
    found = {k: int(counts.get(k, 0)) for k in keep}
    found |= {k: int(v) for k, v in counts.items() if k.startswith(("extract/", "crawl/failed/"))}
    return found


def check_pages(site: newssite.Site, counts: dict[str, int], what: str) -> None:
    pages = counts.get("crawl/items/cited", 0) + counts.get("crawl/items/linked", 0)
    if pages != site.html_pages:
        raise SystemExit(f"{what}: captured {pages} pages, the site has {site.html_pages}")


def run_project(
    ctx: Context,
    pages: int,
    store: Path,
    crawl_id: str,
    *,
    extract: bool = True,
    pss: bool = False,
    **more: Any,
) -> measure.Run:
    site = ctx.site(pages)
    staging = store.parent / "staging"
    command = project_command(
        ctx.seeds(pages), str(store), crawl_id, staging, extract=extract, **more
    )
    result = measure.check(measure.run(command, cwd=ROOT, pss=pss), f"project crawl {crawl_id}")
    result.extra = project_counts(crawl_info(store, crawl_id))
    check_pages(site, result.extra, f"project crawl {crawl_id}")
    return result


def run_baseline(ctx: Context, kind: str, pages: int, out: Path) -> measure.Run:
    ctx.site(pages)
    result = measure.check(
        measure.run(baseline_command(kind, ctx.seeds(pages), out), cwd=ROOT), f"{kind} spider"
    )
    stats = json.loads((out / "stats.json").read_text())
    result.extra = {
        k: int(stats.get(k, 0))
        for k in ("downloader/request_count", "downloader/response_count", "item_scraped_count")
    }
    if result.extra["downloader/response_count"] < ctx.site(pages).html_pages:
        raise SystemExit(f"{kind} spider: fewer responses than the site has pages: {stats}")
    return result


def alternate(runs: int, first: Callable[[int], Any], second: Callable[[int], Any]) -> None:
    """Run both ``runs`` times, swapping their order each time so drift hits both alike."""
    for number in range(runs):
        order = (first, second) if number % 2 == 0 else (second, first)
        for job in order:
            job(number)


def cpu_text(result: measure.Run) -> str:
    return (
        f"{result.seconds:6.1f}s wall, CPU {result.cpu_main:.0f}s + {result.cpu_children:.0f}s "
        f"in children, peak RSS {result.peak_rss_main / MB:.0f} MB "
        f"({result.peak_rss_total / MB:.0f} MB with children)"
    )


def others_cpu(result: measure.Run) -> float:
    """Core-seconds the machine spent on processes other than the command's, during it."""
    return max(0.0, result.machine_busy - result.cpu_total)


def describe(result: measure.Run) -> dict[str, Any]:
    return result.to_dict()


def cores_busy(run: measure.Run, parts: int = 10) -> list[tuple[float, float]]:
    """(cores used by the process, by its descendants) in each tenth of the run's wall
    time, from its CPU timeline: when the extraction workers wait for the crawl, and
    when the crawl waits for them."""
    points = [(0.0, 0.0, 0.0), *run.timeline, (run.seconds, run.cpu_main, run.cpu_children)]
    busy = []
    for part in range(parts):
        start, end = run.seconds * part / parts, run.seconds * (part + 1) / parts
        first = max((p for p in points if p[0] <= start), key=lambda p: p[0])
        last = min((p for p in points if p[0] >= end), key=lambda p: p[0])
        span = (last[0] - first[0]) or 1.0
        busy.append((round((last[1] - first[1]) / span, 2), round((last[2] - first[2]) / span, 2)))
    return busy


# --- benchmarks ----------------------------------------------------------------------------


def verdict(met: bool) -> str:
    """How a target reads in the summary table."""
    return "met" if met else "MISSED"


def bench_crawl(ctx: Context) -> dict[str, Any]:
    site = ctx.site(ctx.pages)
    bare: list[measure.Run] = []
    ours: list[measure.Run] = []

    def baseline(n: int) -> None:
        bare.append(run_baseline(ctx, "bare", ctx.pages, ctx.fresh("crawl-bare")))
        print(f"  bare spider      run {n + 1}: {cpu_text(bare[-1])}", flush=True)

    def project(n: int) -> None:
        folder = ctx.fresh("crawl-project")
        ours.append(run_project(ctx, ctx.pages, folder / "store", CRAWL_ID_FIRST, extract=False))
        print(f"  project crawl    run {n + 1}: {cpu_text(ours[-1])}", flush=True)

    alternate(ctx.runs, baseline, project)
    bare_rate = site.html_pages / measure.median([r.seconds for r in bare])
    our_rate = site.html_pages / measure.median([r.seconds for r in ours])
    ratio = our_rate / bare_rate
    paired = sorted(b.seconds / o.seconds for b, o in zip(bare, ours, strict=True))
    ctx.summary.append(
        (
            "1. crawl + WARC, no extraction (pages/s)",
            f"{our_rate:.1f} vs bare CrawlSpider {bare_rate:.1f}",
            f"{ratio:.2f}x (runs {paired[0]:.2f}-{paired[-1]:.2f})",
            f">= 0.85x: {verdict(ratio >= 0.85)}",
        )
    )
    return {
        "html_pages": site.html_pages,
        "pages_per_second": {"project": our_rate, "bare": bare_rate},
        "cpu_seconds": {
            "project": measure.median([r.cpu_main + r.cpu_children for r in ours]),
            "bare": measure.median([r.cpu_main for r in bare]),
        },
        "ratio": ratio,
        "paired_ratios": paired,
        "target": ">= 0.85",
        "met": ratio >= 0.85,
        "runs": {"project": [describe(r) for r in ours], "bare": [describe(r) for r in bare]},
    }


def bench_e2e(ctx: Context, *, fast: bool = False) -> dict[str, Any]:
    """Figure 2; ``fast``: the project with ``EXTRACT_FAST`` (not the figure: less work)."""
    naive: list[measure.Run] = []
    ours: list[measure.Run] = []
    ctx.e2e_stores.clear()

    def baseline(n: int) -> None:
        naive.append(run_baseline(ctx, "naive", ctx.pages, ctx.fresh("e2e-naive")))
        print(f"  naive spider     run {n + 1}: {cpu_text(naive[-1])}", flush=True)

    def project(n: int) -> None:
        store = ctx.fresh(f"e2e-project-{n}") / "store"
        more = {"EXTRACT_FAST": True} if fast else {}
        ours.append(run_project(ctx, ctx.pages, store, CRAWL_ID_FIRST, **more))
        ctx.e2e_stores.append(store)
        print(f"  project crawl    run {n + 1}: {cpu_text(ours[-1])}", flush=True)

    alternate(ctx.runs, baseline, project)
    naive_s = measure.median([r.seconds for r in naive])
    our_s = measure.median([r.seconds for r in ours])
    typical = sorted(ours, key=lambda r: r.seconds)[len(ours) // 2]
    busy = cores_busy(typical)
    print("  cores busy by tenth of the median project run (crawl process, workers):")
    print("   ", "  ".join(f"{m:.2f}+{w:.2f}" for m, w in busy), flush=True)
    speedup = naive_s / our_s
    paired = sorted(b.seconds / o.seconds for b, o in zip(naive, ours, strict=True))
    ctx.summary.append(
        (
            "2. end to end: crawl, WARC, extraction, dataset (wall s)"
            + (", project with EXTRACT_FAST" if fast else ""),
            f"{our_s:.1f}s vs naive spider {naive_s:.1f}s",
            f"{speedup:.2f}x faster (runs {paired[0]:.2f}-{paired[-1]:.2f})",
            f">= 2.5x: {verdict(speedup >= 2.5)}",
        )
    )
    return {
        "pages": ctx.pages,
        "seconds": {"project": our_s, "naive": naive_s},
        "cpu_seconds": {
            "project_main": measure.median([r.cpu_main for r in ours]),
            "project_workers": measure.median([r.cpu_children for r in ours]),
            "naive": measure.median([r.cpu_main for r in naive]),
        },
        "extract_fast": fast,
        "speedup": speedup,
        "paired_speedups": paired,
        "cores_busy_by_tenth": busy,
        "target": ">= 2.5",
        "met": speedup >= 2.5,
        "peak_rss_mb": {
            "project_main": measure.median([r.peak_rss_main / MB for r in ours]),
            "project_total": measure.median([r.peak_rss_total / MB for r in ours]),
            "naive": measure.median([r.peak_rss_main / MB for r in naive]),
        },
        "runs": {"project": [describe(r) for r in ours], "naive": [describe(r) for r in naive]},
    }


# Figure 2, like for like: who runs, and how.
LIKE_CONTENDERS = ("project", "naive", "bare")


def rendered_rows(store: Path, crawl_id: str) -> tuple[int, int]:
    """(rows, rows rendered in the browser) of a crawl's dataset."""
    import pyarrow.parquet as pq

    folder = store / "datasets" / "text" / f"crawl_id={crawl_id}"
    table = pq.read_table(sorted(folder.glob("*.parquet")), columns=["rendered"])
    return table.num_rows, sum(bool(v) for v in table.column("rendered").to_pylist())


def per_page_ms(seconds: float, pages: int) -> float:
    return 1000 * seconds / pages


def bench_like(ctx: Context) -> dict[str, Any]:
    """Figure 2 re-based: the same pages fetched by every contender, and nothing else.

    The site: ``ctx.like_pages`` distinct real news pages (the sample's 61, copied under
    distinct URLs) whose requisites are all ``data:,x`` (``newssite``), served by nginx
    with an access log, so what each contender asked the server for is counted. The
    contenders, in an order that rotates from run to run: the project's end-to-end crawl
    (``CONCURRENT_REQUESTS_PER_DOMAIN=16`` and no AutoThrottle, as the baselines),
    the naive spider a user writes (Scrapy, warcio, ``trafilatura.extract(...,
    with_metadata=True)`` in the callback, one process) and bare Scrapy following the
    same pages; then ``ctx.defaults_runs`` crawls of the project with its defaults
    (AutoThrottle, 4 requests at a time to a host). Each run: wall time, CPU of the
    command's process and of its descendants (exact, see ``measure.py``), the load
    average, the requests the server answered; for the project, the two-core limit
    ((crawl process + extraction CPU) / 2), the tail (from the last request the server
    answered to the crawl's exit) and a check that no page was rendered.
    """
    site, seeds = ctx.like_site(ctx.like_pages)
    pages = site.html_pages
    runs: dict[str, list[measure.Run]] = {name: [] for name in (*LIKE_CONTENDERS, "defaults")}

    def one(name: str, number: int) -> None:
        folder = ctx.fresh(f"like-{name}")
        before = len(site.requests_logged())
        if name in ("project", "defaults"):
            store = folder / "store"
            more: dict[str, Any] = {} if name == "project" else {"defaults": True}
            command = like_project_command(seeds, store, folder / "staging", **more)
            result = measure.check(measure.run(command, cwd=ROOT), f"project crawl ({name})")
            result.extra = project_counts(crawl_info(store, CRAWL_ID_FIRST))
            check_pages(site, result.extra, f"project crawl ({name})")
            rows, rendered = rendered_rows(store, CRAWL_ID_FIRST)
            if rows != pages or rendered:
                raise SystemExit(f"{name}: {rows} rows, {rendered} rendered; want {pages}, 0")
            result.extra["dataset/rendered"] = rendered
        else:
            command = baseline_command(name, seeds, folder, requisites=False)
            result = measure.check(measure.run(command, cwd=ROOT), f"{name} spider")
            stats = json.loads((folder / "stats.json").read_text())
            result.extra = {
                k: int(stats.get(k, 0))
                for k in ("downloader/request_count", "downloader/response_count")
            }
        asked = site.requests_logged()[before:]
        result.extra["server/requests"] = len(asked)
        result.extra["server/tail_seconds"] = round(result.ended - max(t for t, _ in asked), 2)
        runs[name].append(result)
        print(
            f"  {name:9s} run {number + 1}: {result.seconds:6.1f}s wall, CPU "
            f"{result.cpu_main:5.1f}s + {result.cpu_children:5.1f}s in children, "
            f"{len(asked)} requests, tail {result.extra['server/tail_seconds']:.2f}s, "
            f"load {result.load_before:.1f}-{result.load_after:.1f}; the machine: "
            f"{result.machine_idle:.1f} core-s idle, {others_cpu(result):.1f} spent by others",
            flush=True,
        )

    for number in range(ctx.runs):
        turn = number % len(LIKE_CONTENDERS)
        for name in LIKE_CONTENDERS[turn:] + LIKE_CONTENDERS[:turn]:
            one(name, number)
    for number in range(ctx.defaults_runs):
        one("defaults", number)

    asked = {name: sorted({r.extra["server/requests"] for r in rs}) for name, rs in runs.items()}
    if len({tuple(a) for a in asked.values()}) != 1 or len(asked["project"]) != 1:
        raise SystemExit(f"the contenders asked the server for different numbers: {asked}")

    def med(name: str, value: Callable[[measure.Run], float]) -> float:
        return measure.median([value(r) for r in runs[name]])

    figures: dict[str, dict[str, float]] = {}
    for name, done in runs.items():
        if not done:
            continue
        figures[name] = {
            "wall_s": med(name, lambda r: r.seconds),
            "cpu_main_s": med(name, lambda r: r.cpu_main),
            "cpu_children_s": med(name, lambda r: r.cpu_children),
            "cpu_total_s": med(name, lambda r: r.cpu_total),
            "cpu_main_ms_per_page": per_page_ms(med(name, lambda r: r.cpu_main), pages),
            "cpu_children_ms_per_page": per_page_ms(med(name, lambda r: r.cpu_children), pages),
            "tail_s": med(name, lambda r: r.extra["server/tail_seconds"]),
            "machine_idle_s": med(name, lambda r: r.machine_idle),
            "others_cpu_s": med(name, others_cpu),
            "load_min": min(min(r.load_before, r.load_after) for r in done),
            "load_max": max(max(r.load_before, r.load_after) for r in done),
        }
    project, naive, bare = (figures[n] for n in LIKE_CONTENDERS)
    limits = sorted(r.cpu_total / 2 for r in runs["project"])
    limit = measure.median(limits)
    of_limit = sorted(
        (r.cpu_total / 2) / r.seconds for r in runs["project"]
    )  # 1.0: the two cores full from start to exit
    speedup = naive["wall_s"] / project["wall_s"]
    paired = sorted(
        n.seconds / p.seconds for n, p in zip(runs["naive"], runs["project"], strict=True)
    )
    load = f"load {min(f['load_min'] for f in figures.values()):.1f}-" + (
        f"{max(f['load_max'] for f in figures.values()):.1f}"
    )
    idle, others = project["machine_idle_s"], project["others_cpu_s"]
    ctx.summary.append(
        (
            f"2. like for like, {pages} pages, every contender {asked['project'][0]} requests",
            f"project {project['wall_s']:.1f}s (CPU {project['cpu_main_s']:.1f}s crawl + "
            f"{project['cpu_children_s']:.1f}s extraction; two-core limit {limit:.1f}s), "
            f"naive {naive['wall_s']:.1f}s (CPU {naive['cpu_total_s']:.1f}s), bare Scrapy "
            f"{bare['wall_s']:.1f}s (CPU {bare['cpu_total_s']:.1f}s); {load}; in the "
            f"project's runs the machine's cores were idle {idle:.1f} core-s and spent "
            f"{others:.1f} core-s on other processes (the site's server, the poller)",
            f"{speedup:.2f}x naive (runs {paired[0]:.2f}-{paired[-1]:.2f}); at "
            f"{measure.median(of_limit):.0%} of the limit; limit {naive['wall_s'] / limit:.2f}x "
            "naive",
            f"within 10% of the limit: {verdict(measure.median(of_limit) >= 0.9)}; crawl "
            f"{project['cpu_main_ms_per_page']:.1f} ms/page <= 4: "
            f"{verdict(project['cpu_main_ms_per_page'] <= 4)}; tail {project['tail_s']:.2f}s "
            f"<= 1.5: {verdict(project['tail_s'] <= 1.5)}",
        )
    )
    if "defaults" in figures:
        d = figures["defaults"]
        ctx.summary.append(
            (
                f"2d. the project with its default settings, {pages} pages on one host",
                f"{d['wall_s']:.1f}s (CPU {d['cpu_main_s']:.1f}s + {d['cpu_children_s']:.1f}s)",
                f"{d['wall_s'] / project['wall_s']:.2f}x the like-for-like project crawl",
                "reported",
            )
        )
    return {
        "pages": pages,
        "server_requests": asked,
        "figures": figures,
        "two_core_limit_s": limit,
        "share_of_limit": of_limit,
        "speedup_vs_naive": speedup,
        "paired_speedups": paired,
        "runs": {name: [describe(r) for r in rs] for name, rs in runs.items()},
    }


def like_project_command(
    seeds: Path, store: Path, staging: Path, *, defaults: bool = False
) -> list[str]:
    """The project's crawl of the like-for-like site: with the baselines' overrides, or
    with the project's defaults (politeness on) but for where its files go."""
    if not defaults:
        return project_command(seeds, str(store), CRAWL_ID_FIRST, staging)
    command = [PYTHON, "-m", "crawler", "crawl", str(seeds), "--store", str(store)]
    command += ["--crawl-id", CRAWL_ID_FIRST, "--allow-private", "--depth", "1"]
    return [*command, "-s", f"STAGING_DIR={staging}"]


def crawl_bytes(files: dict[str, int], crawl_id: str) -> dict[str, int]:
    """Bytes of a crawl's files by kind: warc, text (dataset), indexes, log, other."""
    kinds: dict[str, int] = {"warc": 0, "text": 0, "indexes": 0, "crawl-log": 0, "other": 0}
    for key, size in files.items():
        folder = crawl_folder(crawl_id, key)
        if folder is None:
            continue
        kind = folder or key.rsplit("/", 1)[1].split(".", 1)[0]
        kinds[kind if kind in kinds else "other"] += size
    kinds["all"] = sum(v for k, v in kinds.items())
    return kinds


def local_files(store: Path) -> dict[str, int]:
    return {
        p.relative_to(store).as_posix(): p.stat().st_size
        for p in store.rglob("*")
        if p.is_file() and ".staging" not in p.parts
    }


def bench_recrawl(ctx: Context) -> dict[str, Any]:
    firsts: list[measure.Run | None] = []
    seconds: list[measure.Run] = []
    shares: list[dict[str, float]] = []
    sizes: list[dict[str, dict[str, int]]] = []
    for n in range(ctx.count_runs):
        if n < len(ctx.e2e_stores):
            store, first = ctx.e2e_stores[n], None
        else:
            store = ctx.fresh(f"recrawl-{n}") / "store"
            first = run_project(ctx, ctx.pages, store, CRAWL_ID_FIRST)
        second = run_project(ctx, ctx.pages, store, CRAWL_ID_SECOND)
        firsts.append(first)
        seconds.append(second)
        files = local_files(store)
        one, two = crawl_bytes(files, CRAWL_ID_FIRST), crawl_bytes(files, CRAWL_ID_SECOND)
        sizes.append({"first": one, "second": two})
        shares.append({k: two[k] / one[k] for k in ("warc", "all")})
        print(
            f"  recrawl          run {n + 1}: second crawl {second.seconds:6.1f}s, adds "
            f"{shares[-1]['warc']:.1%} WARC, {shares[-1]['all']:.1%} of all bytes",
            flush=True,
        )
    warc = measure.median([s["warc"] for s in shares])
    everything = measure.median([s["all"] for s in shares])
    last = sizes[-1]
    by_kind = ", ".join(
        f"{k} {last['second'][k] / MB:.1f}/{last['first'][k] / MB:.1f} MB"
        for k in ("warc", "text", "indexes", "crawl-log")
    )
    ctx.summary.append(
        (
            "4. recrawl of the unchanged site (bytes added / first crawl's)",
            f"second/first: {by_kind}",
            f"WARC {warc:.1%}, all files {everything:.1%}",
            f"< 5%: WARC {verdict(warc < 0.05)}, all {verdict(everything < 0.05)}",
        )
    )
    return {
        "pages": ctx.pages,
        "share": {"warc": warc, "all": everything},
        "target": "< 0.05",
        "met": {"warc": warc < 0.05, "all": everything < 0.05},
        "bytes": sizes,
        "second_crawl_seconds": measure.median([r.seconds for r in seconds]),
        "runs": {
            "first": [describe(r) for r in firsts if r is not None],
            "second": [describe(r) for r in seconds],
        },
    }


def puts_for(sizes: Iterable[int]) -> int:
    """PUT and POST requests the files need: one PUT each; above the multipart threshold
    (64 MiB, storage/s3store.py), create + one PUT per 64 MiB part + complete."""
    part = 64 * 1024 * 1024
    return sum(1 if size <= part else 2 + -(-size // part) for size in sizes)


def bench_s3(ctx: Context) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with s3count.moto_server() as server:
        for n in range(ctx.count_runs):
            bucket = server.new_bucket()
            folder = ctx.fresh("s3")
            command = project_command(
                ctx.seeds(ctx.pages), f"s3://{bucket}/archive", CRAWL_ID_FIRST, folder / "staging"
            )
            server.counter.take()
            result = measure.check(
                measure.run(command, cwd=ROOT, env=server.env()), f"S3 crawl {n + 1}"
            )
            methods, statuses = server.counter.take()
            objects = {
                key: size
                for prefix in crawl_prefixes(CRAWL_ID_FIRST)
                for key, size in server.object_sizes(bucket, f"archive/{prefix}").items()
            }
            writes = methods.get("PUT", 0) + methods.get("POST", 0)
            rows.append(
                {
                    "methods": methods,
                    "statuses": statuses,
                    "files": len(objects),
                    "puts_and_posts": writes,
                    "puts_for_files": puts_for(objects.values()),
                    "seconds": result.seconds,
                }
            )
            print(
                f"  S3 crawl         run {n + 1}: {result.seconds:6.1f}s, {methods}, "
                f"{len(objects)} files",
                flush=True,
            )
    pages = ctx.site(ctx.pages).html_pages
    puts = measure.median([r["puts_and_posts"] for r in rows])
    files = measure.median([r["files"] for r in rows])
    expected = measure.median([r["puts_for_files"] for r in rows])
    per_1000 = 1000 * puts / pages
    # Nothing per page: what the files need, and at most two write probes (one DELETE each).
    proportional = puts - expected <= 2
    ctx.summary.append(
        (
            "6. S3 requests of one crawl",
            f"{puts:.0f} PUT+POST for {files:.0f} files ({expected:.0f} needed), {pages} pages",
            f"{per_1000:.2f} PUT+POST per 1,000 pages; {puts / files:.2f} per file",
            f"per file, not per page: {verdict(proportional)}",
        )
    )
    return {
        "pages": pages,
        "puts_and_posts": puts,
        "files": files,
        "per_1000_pages": per_1000,
        "per_file": puts / files,
        "puts_for_files": expected,
        "met": proportional,
        "runs": rows,
    }


def bench_memory(ctx: Context) -> dict[str, Any]:
    results: dict[int, list[measure.Run]] = {size: [] for size in ctx.memory_pages}
    for n in range(ctx.runs):
        for size in ctx.memory_pages:
            store = ctx.fresh(f"memory-{size}") / "store"
            result = run_project(ctx, size, store, CRAWL_ID_FIRST, pss=True)
            results[size].append(result)
            print(
                f"  memory {size:6d} pages run {n + 1}: {result.seconds:6.1f}s, peak RSS main "
                f"{result.peak_rss_main / MB:.0f} MB, total {result.peak_rss_total / MB:.0f} MB "
                f"({result.peak_processes} processes; PSS {result.peak_pss_total / MB:.0f} MB)",
                flush=True,
            )
            shutil.rmtree(store.parent, ignore_errors=True)
    peaks = {
        size: {
            "main_mb": measure.median([r.peak_rss_main / MB for r in runs]),
            "total_mb": measure.median([r.peak_rss_total / MB for r in runs]),
            "pss_mb": measure.median([r.peak_pss_total / MB for r in runs]),
            "seconds": measure.median([r.seconds for r in runs]),
        }
        for size, runs in results.items()
    }
    small, large = min(peaks), max(peaks)
    growth_main = peaks[large]["main_mb"] / peaks[small]["main_mb"]
    growth_total = peaks[large]["total_mb"] / peaks[small]["total_mb"]
    # The crawl process's RSS, and its process tree's PSS (each page shared between the
    # fork server and its workers counted once); the tree's summed RSS counts those pages
    # once per process, so it is shown with its own verdict.
    under = {
        "main_rss": peaks[large]["main_mb"] < 500,
        "tree_pss": peaks[large]["pss_mb"] < 500,
        "tree_rss_summed": peaks[large]["total_mb"] < 500,
    }
    flat = growth_total < 1.25  # 4x the pages: proportional growth would be 4x

    ctx.summary.append(
        (
            f"5. peak RSS, {large:,}-page crawl vs {small:,}",
            f"main {peaks[large]['main_mb']:.0f} MB, with workers "
            f"{peaks[large]['total_mb']:.0f} MB, PSS {peaks[large]['pss_mb']:.0f} MB ({small:,}: "
            f"{peaks[small]['main_mb']:.0f} / {peaks[small]['total_mb']:.0f} / "
            f"{peaks[small]['pss_mb']:.0f} MB)",
            f"x{growth_main:.2f} main, x{growth_total:.2f} total for x{large / small:.0f} pages",
            f"< 500 MB: crawl process {verdict(under['main_rss'])}, with workers PSS "
            f"{verdict(under['tree_pss'])} (summed RSS {verdict(under['tree_rss_summed'])}); "
            f"flat: {verdict(flat)}",
        )
    )
    return {
        "peaks": peaks,
        "growth": {"main": growth_main, "total": growth_total, "pages": large / small},
        "met": {"under_500mb": under, "flat": flat},
        "runs": {size: [describe(r) for r in runs] for size, runs in results.items()},
    }


def bench_profile(ctx: Context) -> dict[str, Any]:
    site = ctx.site(ctx.pages)
    seeds = ctx.seeds(ctx.pages)
    jobs: dict[str, Callable[[Path], list[str]]] = {
        "bare": lambda folder: baseline_command("bare", seeds, folder),
        "crawl": lambda folder: project_command(
            seeds, str(folder / "store"), CRAWL_ID_FIRST, folder / "staging", extract=False
        ),
        "e2e": lambda folder: project_command(
            seeds, str(folder / "store"), CRAWL_ID_FIRST, folder / "staging"
        ),
        "naive": lambda folder: baseline_command("naive", seeds, folder),
    }
    found: dict[str, Any] = {}
    for name, command in jobs.items():
        folder = ctx.fresh(f"profile-{name}")
        raw = RESULTS / f"profile-{name}.txt"
        result = measure.check(measure.profile(command(folder), cwd=ROOT, raw=raw), name)
        summary = measure.summarize(raw, top=25)
        (RESULTS / f"profile-{name}.summary.txt").write_text(measure.format_summary(summary, 25))
        found[name] = {"seconds": result.seconds, "summary": summary}
        print(f"  profile {name}: {result.seconds:.1f}s, see {raw.name}", flush=True)
    ctx.summary.append(
        ("profiles (py-spy)", f"{site.html_pages} pages", "results/profile-*.summary.txt", "")
    )
    return found


def bench_extraction(ctx: Context) -> dict[str, Any]:
    command = [PYTHON, str(BENCH / "extraction.py"), "--runs", str(ctx.runs)]
    result = measure.check(measure.run(command, cwd=ROOT), "bench/extraction.py")
    (RESULTS / "extraction.txt").write_text(result.output)
    print(result.output, flush=True)
    ctx.summary.append(
        ("3. extraction over stored WARCs", "bench/extraction.py", "results/extraction.txt", "")
    )
    return {"seconds": result.seconds, "output": result.output}


BENCHMARKS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "crawl": bench_crawl,
    "e2e": bench_e2e,
    "like": bench_like,
    "e2e-fast": lambda ctx: bench_e2e(ctx, fast=True),
    "recrawl": bench_recrawl,
    "s3": bench_s3,
    "memory": bench_memory,
    "profile": bench_profile,
    "extraction": bench_extraction,
}
DEFAULT = ("crawl", "e2e", "recrawl", "s3")


def environment() -> dict[str, Any]:
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "nginx": subprocess.run(
            [newssite.ensure_nginx(), "-v"], capture_output=True, text=True, check=False
        ).stderr.strip(),
        **{name: version(name) for name in ("scrapy", "warcio", "trafilatura", "moto")},
    }


def print_summary(rows: list[tuple[str, str, str, str]], command: str) -> str:
    lines = [
        f"Command: `{command}`",
        "",
        "| figure | measured | ratio | target |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    text = "\n".join(lines)
    print("\n" + text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        help=f"comma-separated, of: {', '.join(BENCHMARKS)} (default: {','.join(DEFAULT)})",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side (median)")
    parser.add_argument(
        "--count-runs",
        type=int,
        default=1,
        help="runs of recrawl and s3, whose bytes and request counts do not vary",
    )
    parser.add_argument("--pages", type=int, default=2000, help="article pages of the site")
    parser.add_argument(
        "--memory-pages", default="5000,20000", help="site sizes for the memory benchmark"
    )
    parser.add_argument(
        "--like-pages", type=int, default=1000, help="article pages of the like-for-like site"
    )
    parser.add_argument(
        "--defaults-runs",
        type=int,
        default=1,
        help="crawls of the like-for-like site with the project's default settings",
    )
    parser.add_argument("--workdir", type=Path, help="keep the crawls here (default: a temp dir)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(DEFAULT)
    if unknown := [n for n in names if n not in BENCHMARKS]:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}: choose from {list(BENCHMARKS)}")
    if min(args.runs, args.count_runs) < 1 or args.pages < 100:
        parser.error("--runs and --count-runs must be 1 or more, --pages 100 or more")
    RESULTS.mkdir(exist_ok=True)
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    with ExitStack() as stack:
        work = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        work.chmod(0o755)  # nginx's workers (user nobody) read the site from here
        ctx = Context(
            args.runs,
            args.count_runs,
            args.pages,
            [int(p) for p in args.memory_pages.split(",")],
            work,
            stack,
            like_pages=args.like_pages,
            defaults_runs=args.defaults_runs,
        )
        for name in names:
            started = time.monotonic()
            print(f"{name}:", flush=True)
            env = environment()
            data = BENCHMARKS[name](ctx)
            payload = {
                "benchmark": name,
                "command": command,
                "runs": args.runs,
                "environment": env,
                **data,
                "load_average_after": os.getloadavg(),
                "bench_seconds": time.monotonic() - started,
            }
            (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str))
        text = print_summary(ctx.summary, command)
    name = "summary" if names == list(DEFAULT) else "summary-" + "-".join(names)
    (RESULTS / f"{name}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
