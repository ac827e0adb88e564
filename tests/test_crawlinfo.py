"""Tests of storage.crawlinfo (crawl-info.json) and of the merge of a shared crawl's shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.crawlinfo import CrawlInfo
from storage.publish import read_info, write_info
from storage.sharedcrawl import merged_info

STARTED = datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
FINISHED = datetime(2026, 1, 31, 12, 5, tzinfo=UTC)


def test_a_crawl_info_is_written_as_the_stats_it_comes_from(tmp_path: Path) -> None:
    """The file holds Scrapy's times as text and its integer stats, keys sorted."""
    info = CrawlInfo(
        crawl_id="c1",
        store="/srv/archive",
        seeds=["https://e.org/a"],
        extraction={"enabled": True, "fast": False},
        started=str(STARTED),
        finished=str(FINISHED),
        finish_reason="finished",
        counts={"warc/files": 1, "crawl/items/seed": 1},
    )
    path = write_info(tmp_path, "c1", info)
    stats_dict = {
        "crawl_id": "c1",
        "store": "/srv/archive",
        "seeds": ["https://e.org/a"],
        "extraction": {"enabled": True, "fast": False},
        "started": STARTED,
        "finished": FINISHED,
        "finish_reason": "finished",
        "counts": {"warc/files": 1, "crawl/items/seed": 1},
    }
    assert path.read_text() == json.dumps(stats_dict, indent=1, sort_keys=True, default=str) + "\n"
    assert read_info(path.parent) == info


def test_keys_of_other_versions_are_kept_and_missing_ones_have_defaults() -> None:
    text = json.dumps({"crawl_id": "c1", "counts": {"n": 2}, "proxy": {"used": False}})
    info = CrawlInfo.from_json(text)
    assert (info.crawl_id, info.counts, info.seeds, info.started) == ("c1", {"n": 2}, [], None)
    assert info.extra == {"proxy": {"used": False}}
    assert json.loads(info.to_json())["proxy"] == {"used": False}
    assert CrawlInfo.from_json(info.to_json()) == info


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a JSON object"),
        ({"seeds": "https://e.org/"}, "seeds has the wrong type"),
        ({"started": 1769860800}, "started has the wrong type"),
        ({"counts": [1]}, "counts has the wrong type"),
        ({"role": "boss"}, "role is 'boss', not one of coordinator, worker"),
    ],
)
def test_a_field_of_the_wrong_type_is_named(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CrawlInfo.from_dict(data)


def test_the_shares_of_a_shared_crawl_merge_into_one_info() -> None:
    own = CrawlInfo(
        crawl_id="s1",
        seeds=["https://e.org/a"],
        started="2026-01-31 12:00:02+00:00",
        finished="2026-01-31 12:09:00+00:00",
        counts={"warc/files": 1},
        worker="a-1",
        role="coordinator",
        workers_lost=["c-3"],
    )
    other = CrawlInfo(
        crawl_id="s1",
        started="2026-01-31 12:00:01+00:00",
        finished="2026-01-31 12:08:00+00:00",
        counts={"warc/files": 2, "warc/bytes": 10},
        worker="b-2",
        role="worker",
    )
    merged = merged_info(own, [own, other])
    assert merged.to_dict() == {
        "crawl_id": "s1",
        "store": None,
        "seeds": ["https://e.org/a"],
        "extraction": {},
        "started": "2026-01-31 12:00:01+00:00",
        "finished": "2026-01-31 12:09:00+00:00",
        "finish_reason": None,
        "counts": {"warc/bytes": 10, "warc/files": 3},
        "workers_lost": ["c-3"],
        "workers": ["a-1", "b-2"],
    }
