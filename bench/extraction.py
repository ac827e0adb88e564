"""Extraction benchmark: quality on the extraction sample, and throughput over stored WARCs.

Quality: the sample's pages are served on loopback (``Content-Type: text/html``, no
charset; their images, stylesheets and icons rewritten onto the same server, which answers
them with a 1x1 GIF, so that the crawl sends no DNS query off the machine) and crawled with
the real crawler, whose pipelines write the dataset; its text
is scored (F1 of character 4-shingles, see tests/data/extraction-sample/README.md)
beside bare ``trafilatura.extract`` on the same bytes, and so are option variants.
Throughput: the pages, copied under distinct URLs (each copy a distinct payload), are
re-extracted from the crawl's WARCs with the pool, against single-process loops over the
same pages. Usage: ``.venv/bin/python bench/extraction.py [--copies 30] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing.forkserver
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import trafilatura

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newssite import PIXEL, localize  # noqa: E402

from crawler.settings import (  # noqa: E402
    DATASET_ROW_GROUP_BYTES,
    DATASET_ROW_GROUP_ROWS,
    DATASET_ROWS_PER_PART,
    EXTRACT_MAX_BYTES,
    EXTRACT_TIMEOUT,
    MEMORY_TRIM_INTERVAL,
)
from pipelines.datasetfile import PartSizes  # noqa: E402
from pipelines.extraction import extract_page, make_options  # noqa: E402
from pipelines.extractpool import Page  # noqa: E402
from pipelines.reextract import reextract  # noqa: E402
from pipelines.warcpages import Pages  # noqa: E402
from storage import open_store  # noqa: E402
from storage.contentcoding import decode_content  # noqa: E402
from storage.layout import dataset_prefix, local_path  # noqa: E402
from storage.records import Record  # noqa: E402
from tests.test_extraction import shingle_f1  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "extraction-sample"
SIZES = PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES)
VARIANTS = {
    "chosen: balanced, tables, no comments": make_options(),
    "favor_precision": make_options(focus="precision"),
    "favor_recall": make_options(focus="recall"),
    "no tables": make_options(tables=False),
    "with comments": make_options(comments=True),
    "fast (no fallback extractors)": make_options(fast=True),
}


def load_sample() -> dict[str, tuple[bytes, dict[str, str]]]:
    truth = json.loads((SAMPLE / "ground-truth.json").read_text())
    return {
        stem: (gzip.decompress((SAMPLE / "html" / f"{stem}.html.gz").read_bytes()), entry)
        for stem, entry in truth.items()
    }


@contextmanager
def serve(pages: dict[str, bytes]) -> Iterator[str]:
    """Serve ``pages`` (path -> body) on 127.0.0.1 as text/html without a charset."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = pages.get(self.path), "text/html"
            if body is None and self.path.startswith("/x/"):  # a requisite, made local
                body, kind = PIXEL, "image/gif"
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", kind if body is not None else "text/plain")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def crawl(urls: list[str], store: Path, workdir: Path) -> float:
    seeds = workdir / "sample.seeds"
    seeds.write_text("".join(url + "\n" for url in urls))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", str(seeds), "--store", str(store),
         "--crawl-id", "bench", "--allow-private", "-s", "AUTOTHROTTLE_ENABLED=false",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
         # the pages' images and scripts are on hosts that do not resolve here: no retries
         "--ignore-robots", "-s", "RETRY_ENABLED=false",
         "-s", f"STAGING_DIR={workdir / 'staging'}"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"crawl failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - started


def quality(sample: dict[str, tuple[bytes, dict[str, str]]], rows: dict[str, str]) -> None:
    bare = {s: shingle_f1(trafilatura.extract(h), t["articleBody"]) for s, (h, t) in sample.items()}
    crawled = {s: shingle_f1(rows[s], t["articleBody"]) for s, (_, t) in sample.items()}
    table = [("bare trafilatura.extract (defaults)", bare), ("our crawl's dataset", crawled)]
    for name, options in VARIANTS.items():
        scores = {
            s: shingle_f1(
                extract_page(h, t["url"], "text/html", options=options).text, t["articleBody"]
            )
            for s, (h, t) in sample.items()
        }
        table.append((f"extract_page, {name}", scores))
    print(
        f"\n{'quality on 61 pages':48} {'mean F1':>8} {'median':>7} {'worse than bare -0.02':>22}"
    )
    for name, scores in table:
        worse = sum(scores[s] < bare[s] - 0.02 for s in sample)
        print(f"{name:48} {statistics.mean(scores.values()):8.4f} "
              f"{statistics.median(scores.values()):7.4f} {worse:22d}")  # fmt: skip


POOL = "reextract: pool (start, read, extract, write, put)"
SAME = "single process: trafilatura.extract, with metadata"
BARE = "single process: trafilatura.extract, defaults"
OURS = "single process: extract_page (a worker's work)"


def warc_pages(store_uri: str) -> Iterator[tuple[Record, Page]]:
    """The crawl's pages as read from its WARC files (content-encoded, as archived)."""
    with tempfile.TemporaryDirectory() as tmp:
        yield from Pages(open_store(store_uri), "bench", Path(tmp), EXTRACT_MAX_BYTES)


def same_job(body: bytes, url: str, content_type: str) -> object:
    """The loop a user writes for the dataset: text with title, author and date.

    The call of the naive spider of ``bench/run.py`` (``baselines.py``).
    """
    return trafilatura.extract(body, url=url, with_metadata=True, output_format="json")


def single_process(store_uri: str, extract: Callable[[bytes, str, str], object]) -> int:
    count = 0
    for _, (body, url, content_type, encoding) in warc_pages(store_uri):
        extract(decode_content(body, encoding), url, content_type)
        count += 1
    return count


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def throughput(store_uri: str, runs: int) -> None:
    """Each way in turn, ``runs`` times (interleaved, so that a busy spell hits all alike).

    Wall-clock rates depend on what else the machine runs; CPU seconds per page do not
    much, so both are shown, with the rate they predict on idle cores.
    """
    ways: dict[str, Callable[[int], int]] = {
        POOL: lambda run: (
            reextract(
                open_store(store_uri),
                "bench",
                sizes=SIZES,
                version=f"bench{run}",
                timeout=EXTRACT_TIMEOUT,
                max_bytes=EXTRACT_MAX_BYTES,
                trim_interval=MEMORY_TRIM_INTERVAL,
            ).rows
        ),
        SAME: lambda run: single_process(store_uri, same_job),
        BARE: lambda run: single_process(
            store_uri, lambda body, url, content_type: trafilatura.extract(body)
        ),
        OURS: lambda run: single_process(store_uri, extract_page),
    }
    wall: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    pages, loads = 0, []
    for run in range(runs):
        for name, way in ways.items():
            started = time.monotonic(), cpu_seconds(resource.RUSAGE_SELF)
            children = cpu_seconds(resource.RUSAGE_CHILDREN)
            pages = way(run)
            if name == POOL:
                # As a new `scrubwatch extract` would, each run starts its own fork server
                # (and this process waits for it, so that its CPU time counts below).
                multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
            wall[name].append(time.monotonic() - started[0])
            cpu[name].append(
                cpu_seconds(resource.RUSAGE_SELF)
                - started[1]
                + cpu_seconds(resource.RUSAGE_CHILDREN)
                - children
            )
            loads.append(os.getloadavg()[0])
    cores = os.cpu_count() or 1
    rate = {name: pages / statistics.median(s) for name, s in wall.items()}
    cost = {name: statistics.median(s) / pages * 1000 for name, s in cpu.items()}
    idle = {name: (cores if name == POOL else 1) * 1000 / cost[name] for name in ways}
    print(f"\nthroughput over the stored WARCs: {pages} pages, median of {runs} runs, "
          f"{cores} cores, load average {min(loads):.1f}-{max(loads):.1f}")  # fmt: skip
    print(f"{'':50} {'pages/s':>8} {'CPU ms/page':>12} {'pages/s, idle cores':>20}")
    for name in ways:
        print(f"{name:50} {rate[name]:8.1f} {cost[name]:12.1f} {idle[name]:20.1f}")
    for name in (SAME, BARE, OURS):
        print(f"pool / {name.removeprefix('single process: ')} loop: "
              f"{rate[POOL] / rate[name]:.2f}x measured, {idle[POOL] / idle[name]:.2f}x on idle cores, "
              f"runs {_ratios(wall[name], wall[POOL])}")  # fmt: skip


def _ratios(baseline: list[float], pool: list[float]) -> str:
    """The ratio of each run (a run of each way, in turn), lowest to highest."""
    ratios = sorted(b / p for b, p in zip(baseline, pool, strict=True))
    return f"{ratios[0]:.2f}-{ratios[-1]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=30, help="URLs per page for throughput")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each loop")
    parser.add_argument("--keep", type=Path, help="folder for the crawl's store, kept after")
    args = parser.parse_args()
    sample = load_sample()
    local = {stem: localize(html, truth["url"]) for stem, (html, truth) in sample.items()}
    served = {f"/c{k}/{stem}.html": html + (f"<!-- copy {k} -->".encode() if k else b"")
              for stem, html in local.items() for k in range(args.copies)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, serve(served) as base:
        work = args.keep or Path(tmp)
        store = work / "archive"
        seconds = crawl([base + path for path in served], store, work)
        parts = sorted(local_path(store, dataset_prefix("bench")).glob("*.parquet"))
        table = pa.concat_tables(pq.read_table(p, columns=["url", "text"]) for p in parts)
        texts = dict(zip(table["url"].to_pylist(), table["text"].to_pylist(), strict=True))
        print(f"crawl of {len(served)} pages, extraction in the crawl: {seconds:.1f}s, "
              f"{len(texts)} dataset rows")  # fmt: skip
        quality(sample, {stem: texts[f"{base}/c0/{stem}.html"] for stem in sample})
        throughput(str(store), args.runs)


if __name__ == "__main__":
    main()
