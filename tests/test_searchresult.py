"""The typed search diff and its JSON: written, read back, checked field by field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from history.diffresult import Diff, Scrub
from history.searchresult import (
    Moved,
    SearchDiff,
    SearchPageState,
    SearchResult,
    SearchSide,
    search_summary,
)
from tests.fixtures.documents import replaced_at

PAGE = "https://image.example/search?word=x"
PHOTO = "https://image.example/it/1.png"


def _search() -> SearchDiff:
    before = SearchSide(
        [SearchPageState(1, PAGE, "results", 200, True)],
        count=2,
        count_text="约2张",
        results=[
            SearchResult(1, PHOTO, 1, None, "董经纬", None, PHOTO),
            SearchResult(2, "https://e.example/l?u=2", 1, "https://n.example/2", "two"),
        ],
    )
    after = SearchSide(
        [SearchPageState(1, PAGE, "results", 200, True)],
        count=1,
        count_text="约1张",
        notices=["filtered"],
        notice_texts=["根据相关法律法规和政策，部分搜索结果未予显示"],
        results=[SearchResult(1, "https://e.example/l?u=2", 1, "https://n.example/2", "two")],
    )
    return SearchDiff(
        "images", "董经纬", "changed", before, after,
        removed=[PHOTO], moved=[Moved("https://n.example/2", 2, 1)],
    )  # fmt: skip


def _diff() -> Diff:
    scrubs = [
        Scrub(PHOTO, "search-results-removed", PAGE, "c1"),
        Scrub(PAGE, "search-filtered", PAGE, "c2"),
    ]
    unreachable = SearchDiff(
        "guarded", "x", "unreachable",
        SearchSide([SearchPageState(1, "https://g.example/s", "results", 200)]),
        SearchSide([SearchPageState(1, "https://g.example/s", "captcha", 200)]),
        why="crawl c2: page 1 captcha, HTTP 200: https://g.example/s",
    )  # fmt: skip
    return Diff("c1", "c2", [], scrubs, [_search(), unreachable])


def test_searches_read_back_from_their_json() -> None:
    data = json.loads(json.dumps(_diff().to_dict(), ensure_ascii=False))
    assert Diff.from_dict(data) == _diff()
    search = data["searches"][0]
    assert list(search) == ["engine", "query", "change", "why", "from", "to", "results"]
    assert search["results"] == {
        "removed": [PHOTO],
        "added": [],
        "moved": [{"url": "https://n.example/2", "from": 2, "to": 1}],
    }
    assert search["from"]["results"][0] == {
        "rank": 1,
        "url": PHOTO,
        "page": 1,
        "target": None,
        "title": "董经纬",
        "snippet": None,
        "thumbnail": PHOTO,
    }
    assert search["from"]["pages"] == [
        {"page": 1, "url": PAGE, "outcome": "results", "status": 200, "rendered": True,
         "reason": None}
    ]  # fmt: skip


def test_a_diff_saved_before_searches_has_none() -> None:
    data = _diff().to_dict()
    del data["searches"]
    data["scrubbed"] = []
    assert Diff.from_dict(data).searches == []


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    return replaced_at(_diff().to_dict(), path, value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["searches", 0, "change"], "gone", "'change' is 'gone', not one of unchanged"),
        (["searches", 0, "from", "count"], "2", "'count' has the wrong type"),
        (["searches", 0, "from", "results", 0, "rank"], True, "'rank' has the wrong type"),
        (["searches", 0, "from", "pages", 0, "rendered"], 1, "'rendered' has the wrong type"),
        (["searches", 0, "results", "removed"], [1], "'removed' is not a list of strings"),
        (["scrubbed", 0, "kind"], "search-removed", "'kind' is 'search-removed', not one of"),
    ],
)
def test_a_wrong_search_field_is_named(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Diff.from_dict(_with(path, value))


def test_summaries() -> None:
    diff = _diff()
    assert search_summary(diff.searches[0]) == (
        "changed, count 2 -> 1, 1 removed, 0 added, 1 moved, notice filtered"
    )
    assert search_summary(diff.searches[1]).startswith("unreachable: crawl c2: page 1 captcha")
    assert search_summary(SearchDiff("e", "q", "added", None, SearchSide([]))) == "added"
