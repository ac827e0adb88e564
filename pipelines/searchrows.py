"""The ``search_results`` dataset's rows: one per result of a captured search page.

``datasets/search_results/crawl_id=<id>/part-NNNNN.parquet`` (and its JSON Lines copy in
``datasets/search_results-jsonl/``), written like the text dataset
(:class:`~pipelines.datasetfile.DatasetWriter` with :data:`FIELDS`). A page with no result
(no results, a CAPTCHA, an error, a page nothing could parse) is one row whose ``rank`` is
null and whose ``outcome`` says why, and so is a result page that could not be captured
(``failed``: robots.txt, DNS...; no WARC record): every result page asked for is in the
dataset. Page columns (count, notices, where the page is archived) repeat on each row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.datasetfile import Fields
    from pipelines.items import FailureItem, PageItem
    from pipelines.searchparse import ParsedPage, SearchPage

# The dataset's columns: name, Arrow type (pipelines.datasetparquet.TYPES), nullable.
FIELDS: Fields = (
    ("crawl_id", "string", False),
    ("engine", "string", False),
    ("query", "string", False),
    ("page", "int32", False),  # the result page, from 1
    ("rank", "int32", True),  # from 1 across pages; null: a page without results
    ("url", "string", True),  # the result's link as the engine gives it
    ("target", "string", True),  # where a wrapped link leads, when the page shows it
    ("title", "string", True),
    ("snippet", "string", True),
    ("thumbnail", "string", True),
    ("outcome", "string", False),  # results, no-results, captcha, login, error, unparsed, failed
    ("parser", "string", True),  # rules, generic
    ("reason", "string", True),  # why a page is in error, unparsed or failed
    ("result_count", "int64", True),  # the count the engine shows
    ("count_text", "string", True),
    ("notices", "list<string>", True),  # filtered, no-results, captcha, login
    ("notice_texts", "list<string>", True),
    ("page_url", "string", False),  # the result page as the search asked for it
    ("final_url", "string", True),  # where it ended, after redirects (null: failed)
    ("status", "int32", True),
    ("fetched_at", "string", False),  # when it was captured, or failed
    ("rendered", "bool", False),  # read from a browser's rendered DOM
    ("payload_digest", "string", True),
    ("warc_filename", "string", True),  # where what was read is (the DOM's record if rendered)
    ("warc_offset", "int64", True),
    ("warc_length", "int64", True),
)
COLUMNS = [name for name, _, _ in FIELDS]


def search_rows(
    item: PageItem, search: SearchPage, parsed: ParsedPage, crawl_id: str
) -> list[dict[str, Any]]:
    """The rows of one captured search page: a row per result, or one for the page."""
    page = {
        "crawl_id": crawl_id,
        "engine": search.engine,
        "query": search.query,
        "page": search.page,
        "outcome": parsed.outcome,
        "parser": parsed.parser,
        "reason": parsed.reason,
        "result_count": parsed.count,
        "count_text": parsed.count_text,
        "notices": list(parsed.notices),
        "notice_texts": list(parsed.notice_texts),
        "page_url": item.redirected_from[0] if item.redirected_from else item.url,
        "final_url": item.url,
        "status": item.status,
        "fetched_at": item.fetched_at,
        "rendered": item.rendered,
        "payload_digest": item.payload_digest or None,
        "warc_filename": item.warc_filename,
        "warc_offset": item.warc_offset,
        "warc_length": item.warc_length,
    }
    if not parsed.results:
        return [{**page, "rank": None}]
    return [
        {
            **page,
            "rank": search.rank_offset + number,
            "url": result.url,
            "target": result.target,
            "title": result.title,
            "snippet": result.snippet,
            "thumbnail": result.thumbnail,
        }
        for number, result in enumerate(parsed.results, start=1)
    ]


def failed_row(item: FailureItem, search: SearchPage, crawl_id: str) -> dict[str, Any]:
    """The row of a result page that could not be captured: why, and no more."""
    return {
        "crawl_id": crawl_id,
        "engine": search.engine,
        "query": search.query,
        "page": search.page,
        "rank": None,
        "outcome": "failed",
        "reason": f"{item.kind}: {item.error}",
        "notices": [],
        "notice_texts": [],
        "page_url": item.url,
        "fetched_at": item.time,
        "rendered": False,
    }
