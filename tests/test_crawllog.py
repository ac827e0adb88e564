"""The crawl log's file: gzip JSON Lines, written by one writer and read by one reader."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from storage import open_store
from storage.crawllog import (
    CrawlLogWriter,
    crawl_log_keys,
    is_crawl_log_key,
    parse_crawl_log,
    read_crawl_log,
)
from storage.layout import crawl_log_key

ENTRIES = [{"url": f"https://news.example/{n}", "outcome": "captured", "n": n} for n in range(50)]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_written_are_read_back_and_appends_add_a_member(tmp_path: Path) -> None:
    path = tmp_path / "crawls/c1/crawl-log.jsonl.gz"
    for half in (ENTRIES[:20], ENTRIES[20:]):
        log = CrawlLogWriter(path)
        log.open()
        for entry in half:
            log.write(entry)
        log.close()
    data = path.read_bytes()
    assert parse_crawl_log(data) == ENTRIES
    # any gzip reader reads the two members as one stream of JSON Lines
    assert [json.loads(line) for line in gzip.decompress(data).splitlines()] == ENTRIES
    plain = "".join(json.dumps(e) + "\n" for e in ENTRIES).encode()
    assert len(data) < len(plain) / 4


def test_lines_reach_the_file_within_a_second_and_a_cut_stream_reads_to_its_last_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "crawl-log.jsonl.gz"
    clock = Clock()
    log = CrawlLogWriter(path, flush_seconds=1.0, clock=clock)
    log.open()
    for entry in ENTRIES[:10]:
        log.write(entry)
    assert parse_crawl_log(path.read_bytes()) == []  # still in the compressor
    clock.now += 1.0
    log.write(ENTRIES[10])
    # what a crawl killed now leaves behind: no gzip trailer, every line up to the flush
    assert parse_crawl_log(path.read_bytes()) == ENTRIES[:11]
    log.close()
    whole = path.read_bytes()
    assert parse_crawl_log(whole[:-5]) == ENTRIES[:11]
    with pytest.raises(ValueError, match="not open"):
        log.write(ENTRIES[11])


def test_readers_take_every_workers_log_and_the_plain_log_of_older_crawls(
    tmp_path: Path,
) -> None:
    store = open_store(str(tmp_path))
    body = "".join(json.dumps(e) + "\n" for e in ENTRIES).encode()
    store.put_bytes(crawl_log_key("c1"), gzip.compress(body[:500].rsplit(b"\n", 1)[0] + b"\n"))
    store.put_bytes(crawl_log_key("c1", "w-1"), gzip.compress(body))
    assert crawl_log_keys(store, "c1") == [crawl_log_key("c1"), crawl_log_key("c1", "w-1")]
    assert read_crawl_log(store, "c1")[-50:] == ENTRIES
    store.put_bytes("crawls/old/crawl-log.jsonl", body)  # stored before the log was gzipped
    assert crawl_log_keys(store, "old") == ["crawls/old/crawl-log.jsonl"]
    assert read_crawl_log(store, "old") == ENTRIES
    assert read_crawl_log(store, "none") == []


def test_crawl_log_keys_are_told_from_other_files() -> None:
    assert is_crawl_log_key("c1", "crawls/c1/crawl-log.jsonl.gz")
    assert is_crawl_log_key("c1", "crawls/c1/crawl-log.host-12.jsonl.gz")
    assert is_crawl_log_key("c1", "crawls/c1/crawl-log.jsonl")
    assert is_crawl_log_key("c1", "crawls/c1/crawl-log.host-12.jsonl")
    assert not is_crawl_log_key("c1", "crawls/c2/crawl-log.jsonl.gz")
    assert not is_crawl_log_key("c1", "crawls/c1/crawl-info.json")
    assert not is_crawl_log_key("c1", "crawls/c1/crawl-log.jsonl.gz.open")
    assert not is_crawl_log_key("c1", "crawls/c1/text/crawl-log.jsonl.gz")
