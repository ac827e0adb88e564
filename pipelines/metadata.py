"""Title, author and publication date of a page, as trafilatura's ``with_metadata`` finds them.

trafilatura's ``extract_metadata`` also looks for the site name, categories, tags and
licence, which the dataset does not keep (a third of its cost on news pages), and copies
the whole tree to look for the author. :func:`page_metadata` runs the same steps for the
three fields the dataset keeps, in the same order and with the same options, and so
gives the same values; it looks for the author on the caller's tree itself, which it
prunes: call it last, when nothing else needs the tree. Plain Python; reads no settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html import unescape
from typing import Any

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import (
    examine_meta,
    extract_meta_json,
    extract_metainfo,
    extract_title,
    extract_url,
)
from trafilatura.utils import line_processing
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

logger = logging.getLogger(__name__)

_MAX_CHARS = 10_000  # trafilatura's Document.clean_and_trim


@dataclass(frozen=True)
class Metadata:
    title: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date


def _trimmed(value: str | None) -> str | None:
    """What ``Document.clean_and_trim`` makes of a field."""
    if not value:
        return value or None
    if len(value) > _MAX_CHARS:
        value = value[: _MAX_CHARS - 1] + "…"
    return line_processing(unescape(value)) or None


def _author_pruning(tree: HtmlElement) -> str | None:
    """trafilatura's ``extract_author``, on ``tree`` itself rather than a deep copy of it."""
    author = extract_metainfo(
        prune_unwanted_nodes(tree, AUTHOR_DISCARD_XPATHS), AUTHOR_XPATHS, len_limit=120
    )
    return normalize_authors(None, author) if author else None


def page_metadata(tree: HtmlElement, url: str, date_params: dict[str, Any]) -> Metadata:
    """Title, author and date of the page parsed as ``tree``, which is left pruned.

    The steps of ``trafilatura.metadata.extract_metadata`` (without an author blacklist),
    less those for fields the dataset does not keep.
    """
    found = examine_meta(tree)
    if found.author and " " not in found.author:
        found.author = None
    try:
        found = extract_meta_json(tree, found)
    except Exception as exc:  # as trafilatura: bugs in its JSON-LD reading
        logger.debug("JSON-LD metadata of %s: %s", url, exc)
    title = found.title or extract_title(tree)
    date = find_date(tree, **{**date_params, "url": found.url or extract_url(tree, url)})
    author = found.author or _author_pruning(tree)  # last: it prunes the tree
    return Metadata(_trimmed(title), _trimmed(author), _trimmed(date))
