"""``scrubwatch demo --import``: the photo that was gone before the first crawl, found again
in a public archive's earlier capture.

Serves version 1 of the local cited web and crawls it into a folder that stands for a
public web archive's holdings; serves those WARC files with pywb on loopback
(:class:`~crawler.localweb.archive.LocalArchive`: CDX server, TimeMaps, raw ``id_``
captures, as the Wayback Machine or any pywb answers); switches the web to version 2
and crawls it into the store, as an archivist who starts watching too late would; then
``scrubwatch import`` brings the archive's captures into the store, the diff from the
imported crawl to the live one names the removed photo, the timeline shows its earlier
capture with its source, and ``get`` returns its original bytes. Each command runs in
its own process, as a user's would. pywb comes from ``make pywb`` (``.venv-pywb``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from crawler.demo import Echo, check_photo, crawl_command, print_scrubbed, serving
from crawler.localweb.archive import LocalArchive
from crawler.summary import CrawlError
from history.diff import diff_crawls
from history.timeline import timeline
from storage import new_crawl_id, open_store
from storage.captures import CaptureIndex
from storage.errors import BadInput


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command)
    if done.returncode != 0:
        raise CrawlError(f"demo {what} failed with exit status {done.returncode}")


def run_import_demo(store: str, *, pywb_venv: Path, port: int = 0, echo: Echo = print) -> None:
    if not (pywb_venv / "bin" / "wayback").exists():
        raise BadInput(f"--pywb {pywb_venv}: no pywb there; `make pywb` makes .venv-pywb")
    stamp = new_crawl_id(datetime.now(UTC))
    live, imported = f"{stamp}-live", f"{stamp}-v1-imported"
    with tempfile.TemporaryDirectory(prefix="scrubwatch-demo-") as tmp, serving(port) as web:
        folder = Path(tmp)
        registry = web.write_registry(folder / "localweb-outlets.toml")
        echo(f"local cited web on loopback, seed article: {web.seed_url}")
        echo("\n== a public archive captures version 1 (before we started watching)")
        holdings = folder / "public-archive"
        _run(
            crawl_command(web.seed_url, str(holdings), registry, "--browser", "never",
                          "--crawl-id", "public"),
            "capture for the public archive",
        )  # fmt: skip
        warcs = sorted(holdings.rglob("*.warc.gz"))
        with LocalArchive(warcs, pywb_venv, folder / "pywb") as archive:
            echo(f"== pywb serves it: CDX {archive.cdx_url}, TimeMaps {archive.timemap_url}")
            web.set_version(2)
            echo(f"\n== crawl {live}: version 2 of the cited web, live")
            _run(
                crawl_command(web.seed_url, store, registry, "--browser", "never",
                              "--crawl-id", live),
                f"crawl {live}",
            )  # fmt: skip
            echo(f"\n== scrubwatch import {web.seed_url} --from {archive.cdx_url}")
            _run(
                [sys.executable, "-m", "crawler", "import", web.seed_url, "--store", store,
                 "--crawl-id", imported, "--from", archive.cdx_url, "--outlets", str(registry),
                 "-s", "ARCHIVE_DELAY=0"],
                "import",
            )  # fmt: skip
        archived = open_store(store)
        diff = diff_crawls(archived, imported, live, index=CaptureIndex(archived))
        print_scrubbed(diff, echo)
        photo = next(c for c in web.expected()["changes"].values() if c["kind"] == "image-removed")
        echo(f"\n== scrubwatch timeline {photo['image']}")
        for entry in timeline(archived, photo["image"]):
            source = f"  from {entry.imported_from}" if entry.imported_from else ""
            echo(f"  {entry.crawl_id:32} {entry.time} {entry.status or '-':>4}{source}")
        check_photo(archived, "the photo, imported from the archive", photo, echo)
