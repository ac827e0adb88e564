"""``scrubwatch demo``: the story the project exists for, on the embedded default.

Serves version 1 of the local replay of the cited web on loopback and crawls the
seed article into a local store; switches to version 2 (the photo removed from the
image search and its URL answering 404, an article edited, one deleted, one
redirected to its outlet's home page, a photo gone from the results that script builds
on the image search page); crawls again, the script-built pages through Chromium;
prints the scrub report; then gets both removed photos back from the archive and shows
that their SHA-256s are the originals'. Each crawl also watches a search for the name
(``--search baidu-images:董经纬``, the local image search in the engine registry), whose
version 2 lists two photos fewer, shows a lower count and says results were withheld.
Then it packages both crawls as a WACZ file (``exports/story.wacz`` in the store) and
prints the command that replays it. Each crawl runs in its own process, as a user's would.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from crawler.localweb import LocalWeb, content
from crawler.localweb.registry import ENGINE
from crawler.summary import CrawlError
from history.diff import diff_crawls
from history.diffresult import Diff
from history.report import render_report
from history.searchresult import search_summary
from history.timeline import get_payload
from storage import Store, new_crawl_id, open_store
from storage.captures import CaptureIndex
from storage.errors import BadInput, one_line
from storage.layout import dataset_root, export_key, local_path, report_key, search_root
from storage.waczexport import export_crawls

Echo = Callable[[str], object]


#: the search the demo watches: the name on the local image search
SEARCH = f"{ENGINE}:{content.NAME}"


def crawl_command(seed: str, store: str, registry: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "crawler", "crawl", seed, "--search", SEARCH,
        "--store", store, "--allow-private", "--outlets", str(registry), "--browser", "auto",
        *extra,
    ]  # fmt: skip


def _crawl(web: LocalWeb, store: str, registry: Path, label: str, echo: Echo) -> str:
    crawl_id = f"{new_crawl_id(datetime.now(UTC))}-{label}"
    echo(f"\n== crawl {crawl_id}: version {web.version} of the cited web")
    done = subprocess.run(crawl_command(web.seed_url, store, registry, "--crawl-id", crawl_id))
    if done.returncode != 0:
        raise CrawlError(f"demo crawl {crawl_id} failed with exit status {done.returncode}")
    return crawl_id


def print_scrubbed(diff: Diff, echo: Echo) -> None:
    scrubbed = diff.scrubbed
    echo(f"\n== scrubbed between {diff.from_id} and {diff.to_id}: {len(scrubbed)} item(s)")
    for item in scrubbed:
        echo(f"  {item.kind:16} {item.url}  (archived in {item.archived_in})")
    for search in diff.searches:
        echo(f"  search {search.engine} {search.query}: {search_summary(search)}")


@contextmanager
def serving(port: int) -> Iterator[LocalWeb]:
    """The local cited web on ``port`` (0: any free one) until the block ends."""
    web = LocalWeb(port=port)
    try:
        web.start()
    except OSError as exc:
        raise BadInput(f"--port {port}: cannot serve the local cited web: {one_line(exc)}") from exc
    try:
        yield web
    finally:
        web.stop()


def run_demo(store: str, *, port: int = 0, echo: Echo = print) -> None:
    with tempfile.TemporaryDirectory(prefix="scrubwatch-demo-") as tmp, serving(port) as web:
        registry = web.write_registry(Path(tmp) / "localweb-outlets.toml")
        echo(f"local cited web on loopback, seed article: {web.seed_url}")
        first = _crawl(web, store, registry, "v1", echo)
        web.set_version(2)
        second = _crawl(web, store, registry, "v2", echo)
        archive = open_store(store)
        index = CaptureIndex(archive)
        diff = diff_crawls(archive, first, second, index=index)
        print_scrubbed(diff, echo)
        report = local_path(Path(store), report_key(first, second))
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(archive, diff, index), encoding="utf-8")
        echo(f"\n== report: {report}")
        dataset = local_path(Path(store), dataset_root())
        echo(f"== dataset of both crawls: pandas.read_parquet({str(dataset)!r})")
        searches = local_path(Path(store), search_root())
        echo(f"== their search results: pandas.read_parquet({str(searches)!r})")
        truth = web.expected()
        photos = [
            ("the photo removed from the image search", truth["changes"]),
            ("the photo only script put on the image results", truth["browser"]["changes"]),
        ]
        for what, changes in photos:
            photo = next(c for c in changes.values() if c["kind"] == "image-removed")
            check_photo(archive, what, photo, echo)
        _export(archive, Path(store), [first, second], echo)


def _export(archive: Store, root: Path, crawl_ids: list[str], echo: Echo) -> None:
    """Package the story's crawls as one WACZ file, and say how to replay it."""
    from crawler import __version__

    package = local_path(root, export_key("story"))
    package.parent.mkdir(parents=True, exist_ok=True)
    result = export_crawls(
        archive,
        crawl_ids,
        package,
        software=f"scrubwatch {__version__}",
        title="scrubwatch demo: the story, before and after",
    )
    echo(
        f"\n== the story's two crawls packaged: {package} ({result.captures} captures, "
        f"{result.pages} pages, {result.bytes:,} bytes)\n"
        f"  replay them as they looked:  scrubwatch replay {package}\n"
        f"  check the package:           scrubwatch verify --wacz {package}"
    )


def check_photo(archive: Store, what: str, photo: dict[str, str], echo: Echo) -> None:
    """Get ``photo`` back from the archive and compare it with the original's SHA-256."""
    capture, body = get_payload(archive, photo["image"])
    digest = hashlib.sha256(body).hexdigest()
    verdict = "equals" if digest == photo["sha256"] else "DIFFERS FROM"
    echo(
        f"\n== scrubwatch get {photo['image']}  ({what})\n"
        f"  from crawl {capture.crawl_id}: {len(body)} bytes, sha256 {digest}\n"
        f"  {verdict} the original photo's sha256 {photo['sha256']}"
    )
    if digest != photo["sha256"]:
        raise CrawlError(f"the archived copy of {what} does not match the original")
