"""Text extraction of one HTML page with trafilatura, and the process pool that runs it.

:func:`extract_page` decodes the payload to text itself (BOM, then the charset of the
header or the page, then UTF-8, then detection), parses it once, makes the links of the
tree absolute against the page's own base (trafilatura would resolve them against the
host only) and runs trafilatura's ``bare_extraction`` with one options object built at
start. :class:`ExtractorPool` runs it in worker processes, each page under a hard time
limit and each worker under a memory limit: a page that hangs or kills its worker comes
back as ``timeout`` or ``error``, and the pool goes on. Plain Python: it reads no
settings; :mod:`pipelines.extract` and :mod:`pipelines.reextract` pass ``EXTRACT_*``.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import re
import resource
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, TimeoutError
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urldefrag, urljoin

import py3langid
import trafilatura
from lxml.etree import strip_tags
from lxml.html import HtmlElement
from pebble import ProcessExpired, ProcessPool
from trafilatura.settings import Document, Extractor
from trafilatura.xml import xmltotxt
from w3lib.url import safe_url_string

from pipelines.metadata import page_metadata
from pipelines.payload import (
    NotHtml,
    Undecodable,
    decode_html,
    is_html_type,
    looks_like_html,
)
from storage.contentcoding import (
    DEFAULT_MAX_BYTES,
    ContentDecodingError,
    ContentTooLarge,
    decode_content,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "OPTIONS",
    "STATUSES",
    "Extraction",
    "ExtractorPool",
    "decode_content",
    "extract_page",
    "is_html_type",
    "looks_like_html",
    "make_options",
]

STATUSES = (
    "ok",
    "empty",
    "not_html",
    "too_large",
    "timeout",
    "decode_error",
    "error",
    "unchanged",  # a revisit in the crawl's own dataset: see pipelines.extract
)
MEMORY_LIMIT = 1024**3
_IMAGE_XPATH = (
    "//img/@src|//img/@data-src|//meta[@property='og:image' or @name='og:image'"
    " or @property='og:image:url' or @name='twitter:image' or @property='twitter:image'"
    " or @name='twitter:image:src']/@content"
)
_SRCSET_XPATH = "//img/@srcset|//picture/source/@srcset"
_SRCSET_SPLIT = re.compile(r",\s+")
_NEEDS_QUOTING = re.compile(r"[\s\"<>\\^`{|}]")
_STAND_IN = "https://link.invalid/"  # RFC 2606: .invalid never resolves


@dataclass(frozen=True)
class Extraction:
    """What extraction made of one page; ``status`` is one of :data:`STATUSES`."""

    status: str
    reason: str = ""
    text: str = ""
    title: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date
    language: str | None = None
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def make_options(
    *, focus: str = "balanced", tables: bool = True, comments: bool = False, fast: bool = False
) -> Extractor:
    """trafilatura's options for the dataset: main-content links always on.

    Metadata is found by :func:`pipelines.metadata.page_metadata` (with these options'
    ``date_params``), not by trafilatura's ``with_metadata``, which finds more than the
    dataset keeps.
    """
    return Extractor(
        output_format="python",
        with_metadata=False,
        links=True,
        comments=comments,
        tables=tables,
        fast=fast,
        precision=focus == "precision",
        recall=focus == "recall",
    )


#: The options chosen on the extraction sample (see bench/README.md, "Extraction").
OPTIONS = make_options()


def _absolute(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``, web-safe, without fragment; None unless http(s)."""
    href = href.strip()
    if not href or href.startswith(("#", "data:", "javascript:", "mailto:")):
        return None
    try:
        url = urldefrag(urljoin(base, href))[0]
        if not url.isascii() or _NEEDS_QUOTING.search(url):
            url = safe_url_string(url)
    except ValueError:  # a malformed host or port
        return None
    return url if url.startswith(("http://", "https://")) else None


def _unique(urls: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(u for u in urls if u))


def _stand_in_links(tree: HtmlElement) -> dict[str, str]:
    """Give every link an absolute stand-in URL, which trafilatura keeps as it is.

    trafilatura resolves relative links against the host alone, ignoring the path and
    ``<base href>``; the stand-ins map back to the hrefs as written, and only the links
    of the main content are resolved, against the page's real base.
    """
    hrefs = {}
    for number, anchor in enumerate(tree.iter("a")):
        if (href := anchor.get("href")) is not None:
            hrefs[stand_in := f"{_STAND_IN}{number}"] = href
            anchor.set("href", stand_in)
    return hrefs


def _page_images(tree: HtmlElement, base: str) -> list[str]:
    found = [str(v) for v in tree.xpath(_IMAGE_XPATH)]
    for srcset in tree.xpath(_SRCSET_XPATH):
        found += [c.strip().split(" ", 1)[0] for c in _SRCSET_SPLIT.split(str(srcset).strip())]
    return _unique(_absolute(base, u) for u in found)


def _language(text: str, tree: HtmlElement) -> str | None:
    """The language of the text (py3langid), else the page's own ``lang``, as ISO 639-1."""
    if len(text) >= 40:
        return str(py3langid.classify(text[:1500])[0])
    declared = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""
    return declared.split("-")[0].strip().lower() or None


def extract_page(
    body: bytes,
    url: str,
    content_type: str,
    *,
    options: Extractor = OPTIONS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Extraction:
    """Main text, metadata, main-content links and all images of a content-decoded page."""
    if content_type and not is_html_type(content_type):
        return Extraction("not_html", f"content type {content_type.split(';')[0]}")
    if not content_type and not looks_like_html(body):
        return Extraction("not_html", "no content type and no HTML start")
    if len(body) > max_bytes:
        return Extraction("too_large", f"{len(body)} bytes, over {max_bytes}")
    if not body.strip():
        return Extraction("empty", "empty body")
    try:
        html, _ = decode_html(body, content_type)
    except NotHtml as exc:
        return Extraction("not_html", str(exc))
    except Undecodable as exc:
        return Extraction("decode_error", str(exc))
    tree = trafilatura.load_html(html)
    if tree is None:
        return Extraction("empty", "no HTML tree")
    base_href = next((str(h) for h in tree.xpath("//base/@href")), "")
    base = urljoin(url, base_href.strip())
    hrefs = _stand_in_links(tree)
    images = _page_images(tree, base)
    page_options = copy.copy(options)
    page_options.url = page_options.source = url
    document = trafilatura.bare_extraction(tree, options=page_options)  # on a copy of tree
    if not isinstance(document, Document) or document.body is None:
        title = " ".join(tree.findtext(".//title", "").split()) or None
        return Extraction(
            "empty", "no main text", "", title, None, None, _language("", tree), [], images
        )
    targets = (ref.get("target", "") for ref in document.body.iter("ref"))
    links = _unique(_absolute(base, hrefs.get(t, t)) for t in targets)
    strip_tags(document.body, "ref")
    text = xmltotxt(document.body, False).strip()
    language = _language(text, tree)
    metadata = page_metadata(tree, url, options.date_params)  # last: it prunes the tree
    return Extraction(
        "ok" if text else "empty",
        "" if text else "no main text",
        text,
        metadata.title,
        metadata.author,
        metadata.published,
        language,
        links,
        images,
    )


# --- the pool ---------------------------------------------------------------------------
_worker_options: Extractor = OPTIONS
_worker_max_bytes = DEFAULT_MAX_BYTES


def _init_worker(options: Extractor, max_bytes: int, memory_limit: int) -> None:
    """Runs once in each worker: limits, options, and the language model loaded."""
    global _worker_options, _worker_max_bytes
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    _worker_options, _worker_max_bytes = options, max_bytes
    # Outcomes are counted as statuses; trafilatura's "discarding data" lines are noise.
    for name in ("trafilatura", "htmldate", "courlan", "charset_normalizer"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    py3langid.classify("warm up")


def extract_payload(body: bytes, url: str, content_type: str, content_encoding: str) -> Extraction:
    """The task a worker runs: undo the content coding, then :func:`extract_page`."""
    try:
        body = decode_content(body, content_encoding, _worker_max_bytes)
        return extract_page(
            body, url, content_type, options=_worker_options, max_bytes=_worker_max_bytes
        )
    except ContentTooLarge as exc:
        return Extraction("too_large", str(exc))
    except ContentDecodingError as exc:
        return Extraction("decode_error", str(exc))
    except MemoryError:
        return Extraction("error", "out of memory")
    except Exception as exc:
        return Extraction("error", f"{type(exc).__name__}: {exc}"[:500])


Page = tuple[bytes, str, str, str]  # body, url, content type, content encoding
T = TypeVar("T")


def _fork_server() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    # "__main__": a script's main module is imported once there, not in every worker.
    context.set_forkserver_preload(["__main__", "pipelines.extractpreload"])
    return context


class ExtractorPool:
    """Worker processes (one per core by default) extracting pages under a time limit.

    A worker that passes ``timeout`` on a page is killed and replaced, and the page's
    future gives status ``timeout``; a worker that dies gives ``error``. Workers are
    forked from multiprocessing's fork server (forking the crawler's process, which has
    threads, would be unsafe), which imports :mod:`pipelines.extractpreload` once: a
    worker starts in milliseconds instead of seconds. ``func`` is the task (tests inject
    one that hangs or crashes).
    """

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = 30.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        options: Extractor = OPTIONS,
        memory_limit: int = MEMORY_LIMIT,
        func: Callable[[bytes, str, str, str], Extraction] = extract_payload,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be 1 or more, got {workers}")
        if timeout <= 0 or max_bytes <= 0:
            raise ValueError(f"timeout and max_bytes must be positive: {timeout}, {max_bytes}")
        self.workers = workers or os.cpu_count() or 1
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.func = func
        self._pool = ProcessPool(
            max_workers=self.workers,
            initializer=_init_worker,
            initargs=(options, max_bytes, memory_limit),
            context=_fork_server(),
        )

    def submit(
        self, body: bytes, url: str, content_type: str, content_encoding: str = ""
    ) -> Future[Extraction]:
        """A future of the page's :class:`Extraction`; it never raises."""
        result: Future[Extraction] = Future()
        if len(body) > self.max_bytes:  # not worth a trip to a worker
            result.set_result(Extraction("too_large", f"{len(body)} bytes, over {self.max_bytes}"))
            return result
        task = self._pool.schedule(
            self.func, args=(body, url, content_type, content_encoding), timeout=self.timeout
        )
        task.add_done_callback(lambda done: result.set_result(self._settle(done)))
        return result

    def _settle(self, done: Future[Extraction]) -> Extraction:
        try:
            return done.result()
        except TimeoutError:
            return Extraction("timeout", f"took more than {self.timeout:g}s")
        except ProcessExpired as exc:
            return Extraction("error", f"worker died (exit code {exc.exitcode})")
        except Exception as exc:
            return Extraction("error", f"{type(exc).__name__}: {exc}"[:500])

    def map_ordered(
        self, pages: Iterable[tuple[T, Page]], window: int | None = None
    ) -> Iterator[tuple[T, Extraction]]:
        """(tag, extraction) of each (tag, page), in order.

        At most ``window`` pages are in flight (their bodies in memory); a slow page
        holds back the results after it, not the workers, which go on with the next pages.
        """
        slots = threading.BoundedSemaphore(window or 4 * self.workers)
        pending: deque[tuple[T, Future[Extraction]]] = deque()
        for tag, page in pages:
            while pending and pending[0][1].done():
                done_tag, future = pending.popleft()
                yield done_tag, future.result()
            slots.acquire()
            future = self.submit(*page)
            future.add_done_callback(lambda _: slots.release())
            pending.append((tag, future))
        while pending:
            done_tag, future = pending.popleft()
            yield done_tag, future.result()

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers once the queued pages are done (``wait``), or at once."""
        if wait:
            self._pool.close()
        else:
            self._pool.stop()
        self._pool.join()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.close(wait=exc_type is None)  # after an error nobody waits for queued pages
