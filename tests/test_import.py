"""``scrubwatch import`` from a local pywb holding the local cited web's version 1, against
a live crawl of version 2: the diff names the removed photo, get returns its bytes."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.localweb import LocalWeb
from crawler.localweb.archive import LocalArchive
from tests.fixtures.cli import crawl_local, run_cli

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
FAST = ("-s", "ARCHIVE_DELAY=0", "-s", "EXTRACT_WORKERS=1")


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("import")
    with LocalWeb() as web:
        registry = web.write_registry(tmp / "outlets.toml")
        truth = web.expected()
        done = crawl_local(web.seed_url, tmp / "elsewhere", registry, "--crawl-id", "v1",
                           "--browser", "never")  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        warcs = sorted((tmp / "elsewhere").rglob("*.warc.gz"))
        with LocalArchive(warcs, ROOT / ".venv-pywb", tmp / "pywb") as archive:
            web.set_version(2)
            store = tmp / "archive"
            done = crawl_local(web.seed_url, store, registry, "--crawl-id", "b-live",
                               "--browser", "never")  # fmt: skip
            assert done.returncode == 0, done.stderr[-3000:]
            imported = run_cli("import", web.seed_url, "--store", str(store), "--crawl-id",
                               "c-import", "--from", archive.cdx_url, "--outlets",
                               str(registry), *FAST)  # fmt: skip
            yield {"store": store, "truth": truth, "archive": archive, "web": web,
                   "imported": imported, "warcs": warcs}  # fmt: skip


def photo(truth: dict[str, Any]) -> dict[str, str]:
    return next(c for c in truth["changes"].values() if c["kind"] == "image-removed")


def records(store: Path, crawl_id: str) -> list[Any]:
    found = []
    for path in sorted((store / "crawls" / crawl_id / "warc").glob("*.warc.gz")):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                record.content_stream().read()
                found.append(record)
    return found


def test_import_makes_an_imported_crawl_listed_as_such(story: dict[str, Any]) -> None:
    done, archive = story["imported"], story["archive"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "imported crawl c-import" in done.stdout
    listed = run_cli("crawls", "--store", str(story["store"]), "--json")
    entries = {e["crawl_id"]: e for e in map(json.loads, listed.stdout.splitlines())}
    assert entries["c-import"]["imported_from"] == archive.cdx_url
    assert entries["c-import"]["complete"] and entries["c-import"]["pages"] > 0
    assert "imported_from" not in entries["b-live"]
    manifest = json.loads((story["store"] / "crawls/c-import/manifest.json").read_text())
    assert manifest["imported_from"] == archive.cdx_url
    text = run_cli("crawls", "--store", str(story["store"])).stdout
    assert f"imported from {archive.cdx_url}" in text


def test_records_carry_the_mementos_dates_and_sources(story: dict[str, Any]) -> None:
    archive = story["archive"]
    originals = {}  # what the other archive holds: URL -> WARC-Date, payload digest
    for path in story["warcs"]:
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "response":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    originals.setdefault(uri, record.rec_headers.get_header("WARC-Date"))
    imported = records(story["store"], "c-import")
    kinds = {r.rec_type for r in imported} - {"warcinfo"}
    assert kinds == {"response", "revisit"}  # no request: the archive made those
    for record in imported:
        if record.rec_type == "warcinfo":
            continue
        uri = record.rec_headers.get_header("WARC-Target-URI")
        date = record.rec_headers.get_header("WARC-Date")
        source = record.rec_headers.get_header("WARC-Source-URI")
        stamp = date[:19].replace("-", "").replace("T", "").replace(":", "")
        assert source == f"{archive.base}{stamp}/{uri}", uri
        # the memento's datetime, to the second pywb's index keeps
        assert originals[uri][:19] == date[:19], uri
    revisits = [r for r in imported if r.rec_type == "revisit"]
    assert revisits and all(r.rec_headers.get_header("WARC-Refers-To-Target-URI") for r in revisits)
    seen = [(r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("WARC-Date"))
            for r in imported if r.rec_type != "warcinfo"]  # fmt: skip
    assert len(seen) == len(set(seen))  # each capture once, redirects included
    image = photo(story["truth"])["image"]
    (full,) = [r for r in imported if r.rec_headers.get_header("WARC-Target-URI") == image]
    assert full.rec_type == "response"  # the live crawl no longer has its bytes


def test_the_crawl_log_follows_redirects_within_the_archive(story: dict[str, Any]) -> None:
    path = story["store"] / "crawls/c-import/crawl-log.jsonl.gz"
    entries = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    redirected = [e for e in entries if e.get("redirected_from")]
    assert redirected, "version 1 cites a page that redirects"
    for entry in redirected:
        assert entry["status"] == 200 and entry["imported_from"].endswith("/" + entry["url"])
    roles = {e["role"] for e in entries if e["outcome"] == "captured"}
    assert roles == {"seed", "cited", "requisite"}


def test_warcinfo_names_the_archive(story: dict[str, Any]) -> None:
    path = next((story["store"] / "crawls/c-import/warc").glob("*.warc.gz"))
    with gzip.open(path) as fh:
        head = fh.read(4000).decode("utf-8", "replace")
    assert f"imported-from: {story['archive'].cdx_url}" in head


def test_diff_names_the_removed_photo_and_get_returns_its_original_bytes(
    story: dict[str, Any],
) -> None:
    store, expected = str(story["store"]), photo(story["truth"])
    diff = run_cli("diff", "--store", store, "--from", "c-import", "--to", "b-live", "--json")
    assert diff.returncode == 0, diff.stderr
    scrubbed = json.loads(diff.stdout)["scrubbed"]
    hit = [s for s in scrubbed if s["url"] == expected["image"]]
    assert hit and hit[0]["kind"] == "image-removed" and hit[0]["archived_in"] == "c-import"
    edited = [s for s in scrubbed if s["kind"] == "text-removed"]
    # the old text is the import's, though the import's id sorts after the live crawl's
    assert edited and {s["archived_in"] for s in edited} == {"c-import"}
    body = run_cli_bytes("get", "--store", store, expected["image"])
    assert hashlib.sha256(body).hexdigest() == expected["sha256"]


def run_cli_bytes(*args: str) -> bytes:
    done = subprocess.run([sys.executable, "-m", "crawler", *args], capture_output=True,
                          timeout=120, check=True)  # fmt: skip
    return done.stdout


def test_timeline_shows_the_earlier_capture_with_its_source_and_get_at_returns_it(
    story: dict[str, Any],
) -> None:
    store, expected = str(story["store"]), photo(story["truth"])
    shown = run_cli("timeline", "--store", store, expected["image"], "--json")
    entries = [json.loads(line) for line in shown.stdout.splitlines()]
    # the live crawl, the store's first, did not ask for an image its page no longer shows
    assert [e["crawl_id"] for e in entries] == ["c-import"]
    assert entries[0]["imported_from"] == story["archive"].cdx_url and entries[0]["status"] == 200
    page = run_cli("timeline", "--store", store, story["web"].seed_url, "--json").stdout
    seen = [json.loads(line) for line in page.splitlines()]
    assert [e["crawl_id"] for e in seen] == ["c-import", "b-live"]  # the import is older
    assert "imported_from" not in seen[1]
    text = run_cli("timeline", "--store", store, expected["image"]).stdout
    assert f"from {story['archive'].cdx_url}" in text.splitlines()[0]
    at = entries[0]["time"]
    body = run_cli_bytes("get", "--store", store, expected["image"], "--at", at)
    assert hashlib.sha256(body).hexdigest() == expected["sha256"]


def test_the_report_marks_evidence_from_another_archive(story: dict[str, Any]) -> None:
    store = story["store"]
    out = store.parent / "report.html"
    done = run_cli("diff", "--store", str(store), "--from", "c-import", "--to", "b-live",
                   "--html", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert f"from another archive: {story['archive'].cdx_url}" in html
    assert html.count('class="imported"') >= 2  # the scrub, and the earlier side


def test_a_timemap_import_finds_the_same_captures(story: dict[str, Any]) -> None:
    store, archive = story["store"], story["archive"]
    image = photo(story["truth"])["image"]
    done = run_cli("import", image, "--store", str(store), "--crawl-id", "d-timemap",
                   "--from", archive.timemap_url, *FAST)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (record,) = [r for r in records(store, "d-timemap") if r.rec_type != "warcinfo"]
    assert record.rec_type == "revisit"  # c-import holds the photo's payload
    assert record.rec_headers.get_header("WARC-Source-URI").startswith(archive.base)
