"""diff claims a scrub only on evidence, says which, and keeps what could not be reached apart.

Two crawls written straight into a local store (tests/fixtures/rendered.py): what the
later one's crawl log and dataset say decides each page's change, ``why`` and ``by``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from history.diff import diff_crawls
from history.diffresult import Diff
from history.previous import previous_pages
from history.soft404 import Fingerprint
from storage.localstore import LocalStore
from tests.fixtures.rendered import Page, Requisite, png, write_rendered_crawl
from tests.fixtures.softweb import DONG, PURGE, X_NOT_FOUND

BASE = "https://news.example/2021/"
ARTICLE = "\n".join(DONG)
PHOTO_GONE = "https://img.example/gone.png"
PHOTO_DOWN = "https://img.example/down.png"
FIRST = datetime(2021, 6, 21, 8, tzinfo=UTC)
SECOND = datetime(2021, 7, 21, 8, tzinfo=UTC)


def url(name: str) -> str:
    return BASE + name


def _failure(name: str, kind: str, **more: object) -> dict[str, object]:
    return {"url": url(name), "role": "cited", "kind": kind, "error": kind, **more}


@pytest.fixture(scope="module")
def diff(tmp_path_factory: pytest.TempPathFactory) -> Diff:
    root = tmp_path_factory.mktemp("evidence") / "archive"
    names = [
        "timeout", "reset", "dns", "dead-host", "robots", "wording", "probe", "mentions",
        "always-404", "photos",
    ]  # fmt: skip
    first = [Page(url(n), f"<p>{n}</p>", ARTICLE) for n in names]
    first[names.index("photos")] = Page(
        url("photos"), "<p>p</p>", ARTICLE, images=[PHOTO_GONE, PHOTO_DOWN]
    )
    first[names.index("always-404")] = Page(
        url("always-404"), "<p>x</p>", "Error 404: the page you asked for is not here.\n" + ARTICLE
    )
    photos = [
        Requisite(PHOTO_GONE, 200, png(4, 4, (1, 2, 3)), url("photos")),
        Requisite(PHOTO_DOWN, 200, png(4, 4, (3, 2, 1)), url("photos")),
    ]
    write_rendered_crawl(root, "v1", first, photos, date=FIRST)
    second = [
        # no verdict in the row (a crawl made before probes): the wording still tells
        Page(url("wording"), "<p>gone</p>", f"Page not found / X\n{X_NOT_FOUND}"),
        # the crawl's probe said so, whatever the text
        Page(url("probe"), "<p>gone</p>", "Nothing to see.", soft_404="probe"),
        # an article that quotes an error page is an article
        Page(url("mentions"), "<p>a</p>", ARTICLE + "\nSome links now say: page not found."),
        # a text that always read like an error page: no change of kind
        Page(url("always-404"), "<p>x</p>", "Error 404: the page you asked for is gone."),
        Page(url("photos"), "<p>p</p>", ARTICLE, images=[PHOTO_GONE, PHOTO_DOWN]),
    ]
    failures = [
        _failure("timeout", "timeout", retryable=True),
        _failure("reset", "connection", retryable=True),
        _failure("dns", "dns"),  # a name that did not resolve this time
        _failure("dead-host", "refused", retryable=True, dead_host=True),
        _failure("robots", "robots"),
    ]
    photos = [
        Requisite(PHOTO_GONE, 410, b"gone", url("photos")),
        Requisite(PHOTO_DOWN, 503, b"busy", url("photos")),
    ]
    write_rendered_crawl(root, "v2", second, photos, date=SECOND, failures=failures)
    return diff_crawls(LocalStore(str(root)), "v1", "v2")


def _pages(diff: Diff) -> dict[str, tuple[str, str | None, str | None]]:
    return {p.url.removeprefix(BASE): (p.change, p.why, p.by) for p in diff.pages}


def test_failures_that_may_pass_are_unreachable(diff: Diff) -> None:
    pages = _pages(diff)
    assert pages["timeout"] == ("unreachable", "timeout", None)
    assert pages["reset"] == ("unreachable", "connection", None)
    assert pages["dns"] == ("unreachable", "dns", None)
    assert pages["dead-host"] == ("unreachable", "refused", None)
    assert pages["robots"] == ("missing", None, None)  # the crawl's own choice, not the host's


def test_soft_404s_by_the_crawls_verdict_or_the_wording(diff: Diff) -> None:
    pages = _pages(diff)
    assert pages["probe"] == ("removed", "soft-404", "probe")
    assert pages["wording"] == ("removed", "soft-404", "wording")
    assert pages["mentions"] == ("changed", None, None)
    assert pages["always-404"][0] == "changed"


def test_scrubs_name_their_evidence(diff: Diff) -> None:
    scrubs = {(s.url, s.kind): (s.why, s.by, s.archived_in) for s in diff.scrubbed}
    assert scrubs[url("probe"), "page-removed"] == ("soft-404", "probe", "v1")
    assert scrubs[url("wording"), "page-removed"] == ("soft-404", "wording", "v1")
    assert scrubs[url("always-404"), "text-removed"][0] == "edited"
    # the photo that answers 410 is gone; the one that answers 503 may come back
    assert scrubs[PHOTO_GONE, "image-removed"] == ("http-410", None, "v1")
    assert (PHOTO_DOWN, "image-removed") not in scrubs
    unreachable = {url(n) for n in ("timeout", "reset", "dns", "dead-host", "robots")}
    assert not unreachable & {s.url for s in diff.scrubbed}


def test_the_previous_crawl_is_kept_as_fingerprints(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    first = [Page(url("a"), "<p>a</p>", ARTICLE)]
    write_rendered_crawl(root, "v1", first, [], date=FIRST)
    second = [
        Page(url("a"), "<p>a</p>", ARTICLE, revisit=True),  # its text is in v1's row
        Page(url("b2"), "<p>b</p>", "\n".join(DONG[:2]), redirected_from=url("b")),
        Page(url("c"), "<p>c</p>", X_NOT_FOUND),
        Page(url("d"), "<p>d</p>", "\n".join(PURGE)),
        Page(url("e"), "<p>d</p>", "\n".join(PURGE), revisit=True),  # d's payload, this crawl
    ]
    write_rendered_crawl(root, "v2", second, [], date=SECOND)
    third = [Page(url("f"), "<p>f</p>", "lost", revisit=True)]  # its payload's row is nowhere
    write_rendered_crawl(root, "v3", third, [], date=SECOND)
    store = LocalStore(str(root))
    assert previous_pages(store, "v1") == {}
    before = previous_pages(store, "v3")
    # by the URL asked for; the revisits take their text from the row of their payload
    assert set(before) == {url(n) for n in "abcde"}
    assert before[url("a")].fingerprint == Fingerprint.of(ARTICLE)
    assert before[url("b")].fingerprint == Fingerprint.of("\n".join(DONG[:2]))
    assert before[url("d")] == before[url("e")]
    assert before[url("e")].fingerprint == Fingerprint.of("\n".join(PURGE))
    assert before[url("c")].read_not_found and not before[url("a")].read_not_found
    assert before[url("a")].digest == first_digest(root, url("a"))
    unknown = previous_pages(store, "v4")[url("f")]
    assert unknown.fingerprint is None and unknown.digest is not None


def first_digest(root: Path, page: str) -> str | None:
    rows = pq.read_table(next(root.glob("datasets/text/crawl_id=v1/*.parquet"))).to_pylist()
    return next(str(r["payload_digest"]) for r in rows if r["url"] == page)
