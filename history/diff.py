"""Compares two crawls of the same cited web and says what was scrubbed.

For every page either crawl asked for: ``unchanged``, ``changed`` (text by
paragraph, images, links, status), ``removed``, ``unreachable``, ``added``, or
``missing`` (the later crawl did not visit it, or could not for a reason of its own:
robots.txt, the SSRF guard, its size; which is not removal).

A scrub is claimed only on evidence (``why``): the page now answers 404, 410 or 451
(``http-404`` ...), redirects to a different page such as the outlet's home page
(``redirect``), or is its host's "not found" served as a page (``soft-404``, ``by`` the
crawl's probe or, failing that, the wording: :mod:`history.soft404`). A page whose later
capture failed for a reason that may pass (a timeout, a reset, a 5xx or 429, a host that
did not resolve or answer: the crawl log's ``retryable`` or ``dead_host``) or that the
host refused (401, 403) is ``unreachable``, with what the crawl met as ``why``: no
evidence of removal either way. The ``scrubbed`` list names each removed page (``why``),
removed text (``edited``) and removed image (``off-page``, or the status its URL now
answers), with the crawl that holds its archived bytes so ``scrubwatch get`` returns them.
Searches are compared in :mod:`history.searchdiff`, and their scrubs join the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from history.diffresult import Change, Delta, Diff, PageDiff, Scrub, ScrubKind, Why
from history.searchdiff import diff_searches, search_page_urls
from history.snapshots import CrawlSnapshot, DatasetRows, PageSnapshot, load_snapshot
from history.soft404 import By, Fingerprint, changed_a_lot, reads_not_found
from history.textdiff import diff_text, paragraphs, similarity
from storage.captures import CaptureIndex
from storage.errors import StoreError
from storage.layout import list_crawl_ids
from storage.stores import Store

GONE: dict[int, Why] = {404: "http-404", 410: "http-410", 451: "http-451"}
GONE_STATUSES = tuple(GONE)
# A redirect to a page this similar is a move, not a removal.
SAME_PAGE = 0.5
# Failure kinds of the crawl log that say the host did not answer this time, whether or
# not the entry says ``retryable``: a name that no longer resolves is not a page removed.
UNANSWERED = frozenset({"dns", "refused", "timeout", "connection", "data-loss"})


@dataclass(frozen=True)
class Evidence:
    """Why a page counts as removed: the scrub's kind, its evidence, what told a soft 404."""

    kind: ScrubKind
    why: Why
    by: By | None = None


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _gone(status: int | None) -> Why | None:
    return GONE.get(status) if status is not None else None


def _soft_404(old: PageSnapshot, new: PageSnapshot) -> By | None:
    """The later crawl's verdict; for a crawl without one, the wording of a page that
    changed a lot (the rule the crawl follows, :mod:`crawler.probe`)."""
    if new.soft_404 is not None:
        return new.soft_404
    if not old.text or reads_not_found(old.title, old.text):
        return None
    if not changed_a_lot(Fingerprint.of(old.text), Fingerprint.of(new.text)):
        return None
    return "wording" if reads_not_found(new.title, new.text) else None


def _removal(old: PageSnapshot, new: PageSnapshot) -> Evidence | None:
    """The evidence that ``new`` is the removal of ``old``, or None."""
    if not _ok(old.final_status):
        return None  # it was not there to remove
    why = _gone(new.final_status) or _gone(new.status)
    if why is not None:
        return Evidence("page-removed", why)
    if not _ok(new.final_status):
        return None
    by = _soft_404(old, new)
    if by is not None:
        return Evidence("page-removed", "soft-404", by)
    if new.final_url != old.final_url and similarity(old.text, new.text) < SAME_PAGE:
        return Evidence("page-redirected", "redirect")
    return None


def _unreachable(old: PageSnapshot, new: PageSnapshot) -> str | None:
    """What kept the later crawl from a page the earlier one had, when it is no evidence."""
    if not _ok(old.final_status):
        return None
    if new.failed:
        return new.failed if new.retryable or new.failed in UNANSWERED else None
    status = new.final_status
    if status is None or _ok(status) or status in GONE_STATUSES:
        return None
    return f"http-{status}"  # a 5xx, 429, 401, 403, or a redirect the crawl did not follow


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
        # the earlier crawl's own capture first: an imported crawl sorts after the crawls
        # made before it was imported, but its captures are older than theirs
        mine = [c for c in captures if c.crawl_id == self.old.crawl_id]
        last = (mine or captures)[-1]
        if not last.is_revisit:
            return last.crawl_id
        original = self.index.reader.original(last.digest)
        return original[0] if original else last.crawl_id

    def scrub(self, url: str, kind: ScrubKind, page: str, why: Why, by: By | None = None) -> None:
        self.scrubbed.append(Scrub(url, kind, page, self.archived_in(url), why, by))

    def removed(
        self, url: str, old: PageSnapshot, new: PageSnapshot | None, why: Evidence
    ) -> PageDiff:
        entry = _entry(url, "removed", old, new)
        entry.why, entry.by = why.why, why.by
        entry.text.removed = paragraphs(old.text)  # what the reader lost: all of it
        self.scrub(url, why.kind, url, why.why, why.by)
        return entry

    def page(self, url: str) -> PageDiff:
        old, new = self.old.pages.get(url), self.new.pages.get(url)
        if old is None:
            return _entry(url, "added", None, new)
        if new is None:  # asked for by the later crawl only as something else, if at all
            why = _gone(self.new.statuses.get(url))
            if why is not None and _ok(old.final_status) and not old.failed:
                return self.removed(url, old, None, Evidence("page-removed", why))
            return _entry(url, "missing", old, None)
        unreachable = None if old.failed else _unreachable(old, new)
        if unreachable is not None:
            entry = _entry(url, "unreachable", old, new)
            entry.why = unreachable
            return entry
        if old.failed or new.failed:  # no content to compare
            return _entry(url, _uncaptured(old, new), old, new)
        removal = _removal(old, new)
        if removal:
            return self.removed(url, old, new, removal)
        return self.compare(url, old, new)

    def compare(self, url: str, old: PageSnapshot, new: PageSnapshot) -> PageDiff:
        """A page both crawls captured and that was not removed: what changed in it."""
        entry = _entry(url, "unchanged", old, new)
        text = diff_text(old.text, new.text)
        entry.text = Delta(text.removed, text.added)
        entry.images = Delta.between(old.images, new.images)
        entry.links = Delta.between(old.links, new.links)
        gone_images: dict[str, Why] = dict.fromkeys(entry.images.removed, "off-page")
        for image in old.images:
            why = _gone(self.new.statuses.get(image))
            if image in new.images and why and _ok(self.old.statuses.get(image)):
                gone_images.setdefault(image, why)
        for image, why in gone_images.items():
            self.scrub(image, "image-removed", url, why)
        if text.removed:
            self.scrub(url, "text-removed", url, "edited")
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
