"""Compares two crawls of the same cited web and says what was scrubbed.

For every page either crawl asked for: ``unchanged``, ``changed`` (text by
paragraph, images, links, status), ``removed`` (now 404/410/451, redirected to a
different page such as the outlet's home page, or a soft 404), ``added``, or
``missing`` (the later crawl did not visit it, which is not removal). The
``scrubbed`` list names each removed page, removed text, and removed image, with
the crawl that holds its archived bytes so ``scrubwatch get`` returns them.
Searches are compared in :mod:`history.searchdiff`, and their scrubs join the list.
"""

from __future__ import annotations

import re

from history.diffresult import Change, Delta, Diff, PageDiff, Scrub, ScrubKind
from history.searchdiff import diff_searches, search_page_urls
from history.snapshots import CrawlSnapshot, DatasetRows, PageSnapshot, load_snapshot
from history.textdiff import diff_text, paragraphs, similarity
from storage.captures import CaptureIndex
from storage.errors import StoreError
from storage.layout import list_crawl_ids
from storage.stores import Store

GONE_STATUSES = (404, 410, 451)
SOFT_404 = re.compile(
    r"(page|article|story|content|video|post)[^.\n]{0,40}\b(not found|no longer available|"
    r"has been removed|been deleted|is unavailable|unavailable)|\b404\b|页面不存在|内容不存在|"
    r"已被删除|內容不存在|已刪除",
    re.IGNORECASE,
)
# A later text this much shorter than the earlier one is a page emptied out.
NEAR_EMPTY = 0.2
# A redirect to a page this similar is a move, not a removal.
SAME_PAGE = 0.5


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _removal(old: PageSnapshot, new: PageSnapshot) -> ScrubKind | None:
    """Why ``new`` counts as the removal of ``old``, or None."""
    if not _ok(old.final_status):
        return None  # it was not there to remove
    if new.final_status in GONE_STATUSES or new.status in GONE_STATUSES:
        return "page-removed"
    if new.final_url != old.final_url and similarity(old.text, new.text) < SAME_PAGE:
        return "page-redirected"
    if _ok(new.final_status) and old.text:
        if SOFT_404.search(new.text[:500]) and not SOFT_404.search(old.text[:500]):
            return "page-removed"
        if len(new.text) < NEAR_EMPTY * len(old.text):
            return "page-removed"
    return None


def _entry(
    url: str, change: Change, old: PageSnapshot | None, new: PageSnapshot | None
) -> PageDiff:
    return PageDiff(
        url,
        change,
        status_from=old.status if old else None,
        status_to=new.status if new else None,
        redirect=new.final_url if new is not None and new.redirected else None,
    )


def _uncaptured(old: PageSnapshot, new: PageSnapshot) -> Change:
    """The change of a page that one crawl or both could not capture (robots, DNS, ...)."""
    if old.failed and new.failed:
        return "unchanged" if old.failed == new.failed else "missing"
    return "missing" if new.failed else "added"


class _Differ:
    def __init__(
        self, store: Store, old: CrawlSnapshot, new: CrawlSnapshot, index: CaptureIndex
    ) -> None:
        self.store = store
        self.old = old
        self.new = new
        self.index = index
        self.scrubbed: list[Scrub] = []

    def archived_in(self, url: str) -> str | None:
        """The crawl that holds the bytes of ``url``'s last good capture before the later crawl."""
        captures = [
            c for c in self.index.captures(url) if c.crawl_id <= self.old.crawl_id and _ok(c.status)
        ]
        if not captures:
            return None
        last = captures[-1]
        if not last.is_revisit:
            return last.crawl_id
        original = self.index.reader.original(last.digest)
        return original[0] if original else last.crawl_id

    def scrub(self, url: str, kind: ScrubKind, page: str) -> None:
        self.scrubbed.append(Scrub(url, kind, page, self.archived_in(url)))

    def page(self, url: str) -> PageDiff:
        old, new = self.old.pages.get(url), self.new.pages.get(url)
        if old is None:
            return _entry(url, "added", None, new)
        if new is None:
            visited = url in self.new.visited
            return _entry(url, "removed" if visited else "missing", old, None)
        if old.failed or new.failed:  # no content to compare
            return _entry(url, _uncaptured(old, new), old, new)
        removal = _removal(old, new)
        if removal:
            entry = _entry(url, "removed", old, new)
            entry.text.removed = paragraphs(old.text)  # what the reader lost: all of it
            self.scrub(url, removal, url)
            return entry
        return self.compare(url, old, new)

    def compare(self, url: str, old: PageSnapshot, new: PageSnapshot) -> PageDiff:
        """A page both crawls captured and that was not removed: what changed in it."""
        entry = _entry(url, "unchanged", old, new)
        text = diff_text(old.text, new.text)
        entry.text = Delta(text.removed, text.added)
        entry.images = Delta.between(old.images, new.images)
        entry.links = Delta.between(old.links, new.links)
        gone_images = list(entry.images.removed)
        gone_images += [
            u
            for u in old.images
            if u in new.images
            and u in self.new.statuses
            and not _ok(self.new.statuses[u])
            and _ok(self.old.statuses.get(u))
        ]
        for image in dict.fromkeys(gone_images):
            self.scrub(image, "image-removed", url)
        if text.removed:
            self.scrub(url, "text-removed", url)
        changed = bool(text or entry.images or entry.links or gone_images)
        if changed or old.status != new.status:
            entry.change = "changed"
        return entry


def pick_crawls(store: Store, from_id: str | None, to_id: str | None) -> tuple[str, str]:
    ids = list_crawl_ids(store)
    if len(ids) < 2 and not (from_id and to_id):
        raise StoreError(f"store {store.uri} has {len(ids)} crawl(s): a diff needs two")
    to_id = to_id or ids[-1]
    if from_id is None:
        earlier = [c for c in ids if c < to_id]
        if not earlier:
            raise StoreError(f"no crawl before {to_id} in store {store.uri}")
        from_id = earlier[-1]
    for crawl_id in (from_id, to_id):
        if crawl_id not in ids:
            raise StoreError(f"crawl {crawl_id} is not in store {store.uri}")
    return from_id, to_id


def diff_crawls(
    store: Store,
    from_id: str | None = None,
    to_id: str | None = None,
    *,
    url: str | None = None,
    index: CaptureIndex | None = None,
    ranks: bool = False,
) -> Diff:
    """What changed between two crawls (default: the last two); ``index``: one shared with
    the report, so that the store's indexes are read once per command; ``ranks``: list
    search results whose rank changed too (:mod:`history.searchdiff`)."""
    from_id, to_id = pick_crawls(store, from_id, to_id)
    index = index if index is not None else CaptureIndex(store)
    datasets = DatasetRows(store)
    old = load_snapshot(store, from_id, index, datasets)
    new = load_snapshot(store, to_id, index, datasets)
    differ = _Differ(store, old, new, index)
    urls = list(dict.fromkeys([*old.pages, *new.pages]))
    if url is not None:
        urls = [u for u in urls if u == url]
    pages = [differ.page(u) for u in urls]
    searches, scrubs = diff_searches(
        store, from_id, to_id, archived_in=differ.archived_in, ranks=ranks
    )
    if url is not None:
        searches = [s for s in searches if url in search_page_urls(s)]
        scrubs = [s for s in scrubs if s.page == url]
    return Diff(from_id, to_id, pages, differ.scrubbed + scrubs, searches)
