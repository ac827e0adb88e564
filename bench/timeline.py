"""Where the cores go, second by second, in the project's end-to-end crawl of the bench site.

Builds and serves the site as ``run.py`` does, runs the project's crawl (``run.py``'s
command, extraction on) and polls it with psutil every ``--every`` seconds: CPU of the
crawl process's main (reactor) thread, of its other threads, and of its child processes
(the fork server and the extraction workers). Prints the cores each used in every
interval, then per run the wall time and CPU totals, and what was fetched by role in
4-second bins (from the crawl log). ``-s NAME=VALUE`` passes a Scrapy setting.

    .venv/bin/python bench/timeline.py --runs 2 -s PAGES_AHEAD=0
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import newssite
import psutil
import run as bench

from storage import open_store
from storage.crawllog import read_crawl_log

Sample = tuple[float, float, float, float]  # time, main thread, other threads, children


def poll(process: subprocess.Popen[bytes], every: float) -> list[Sample]:
    """CPU seconds so far of the main thread, the other threads and the children."""
    tree = psutil.Process(process.pid)
    start = time.monotonic()
    # a thread or worker that is gone (a worker is replaced after MAX_TASKS) keeps its last
    children: dict[int, float] = {}
    threads: dict[int, float] = {}
    samples: list[Sample] = []
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):
            threads.update({t.id: t.user_time + t.system_time for t in tree.threads()})
            for child in tree.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    times = child.cpu_times()
                    children[child.pid] = times.user + times.system
            main = threads.get(process.pid, 0.0)
            others = sum(threads.values()) - main
            elapsed = time.monotonic() - start
            samples.append((elapsed, main, others, sum(children.values())))
        time.sleep(every)
    return samples


def fetched_by_role(store: Path, crawl_id: str, width: int = 4) -> str:
    rows = read_crawl_log(open_store(str(store)), crawl_id)

    def at(row: dict[str, Any]) -> float:
        return datetime.fromisoformat(row["fetched_at"]).timestamp()

    first = min(at(r) for r in rows)
    bins: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for row in rows:
        bins[int(at(row) - first) // width * width][row["role"]] += 1
    return "  ".join(
        f"{s}s: {c['linked'] + c['cited']} pages {c['requisite']} requisites"
        for s, c in sorted(bins.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="N=V")
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders and logs")
    args = parser.parse_args()
    more = dict(s.split("=", 1) for s in args.settings)
    work = Path(tempfile.mkdtemp(prefix="bench-timeline-"))
    work.chmod(0o755)  # nginx's workers (nobody) read the site under it
    try:
        with newssite.serve(newssite.build_site(work / "site", args.pages)) as site:
            seeds = site.write_seeds(work / "site.seeds")
            for number in range(args.runs):
                folder = work / f"run-{number}"
                folder.mkdir()
                store = folder / "store"
                command = bench.project_command(
                    seeds, str(store), bench.CRAWL_ID_FIRST, folder / "staging", **more
                )
                with (folder / "log").open("wb") as log:
                    crawl = subprocess.Popen(command, cwd=bench.ROOT, stdout=log, stderr=log)
                    samples = poll(crawl, args.every)
                if crawl.returncode:
                    sys.exit(f"crawl failed ({crawl.returncode}): see {folder / 'log'}")
                print(f"run {number + 1}: cores used (main thread, other threads, workers)")
                for before, after in itertools.pairwise(samples):
                    span = after[0] - before[0]
                    used = [(a - b) / span for a, b in zip(after[1:], before[1:], strict=True)]
                    print(f"  {after[0]:5.1f}s  " + "  ".join(f"{u:4.2f}" for u in used))
                end = samples[-1]
                print(
                    f"run {number + 1}: {end[0]:.1f}s, CPU main thread {end[1]:.1f}s, "
                    f"other threads {end[2]:.1f}s, workers {end[3]:.1f}s"
                )
                print("  fetched:", fetched_by_role(store, bench.CRAWL_ID_FIRST), flush=True)
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
