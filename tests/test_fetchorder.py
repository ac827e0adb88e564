"""crawler/fetchorder.py: requisites first, unless too few pages are on their way."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.squeues import LifoMemoryQueue, PickleFifoDiskQueue
from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler.fetchorder import PagesAhead


def page(n: int, priority: int = -1) -> Request:
    return Request(f"http://a.test/p{n}", priority=priority, meta={"role": "linked"})


def requisite(n: int) -> Request:
    return Request(f"http://a.test/r{n}.jpg", priority=1, meta={"role": "requisite"})


def queue(pages_ahead: int, key: str = "", cls: type = LifoMemoryQueue, state=()) -> PagesAhead:
    return PagesAhead(get_crawler(), cls, key, state, pages_ahead=pages_ahead)


def names(requests: list[Request | None]) -> list[str]:
    return [r.url.rsplit("/", 1)[1] if r else "-" for r in requests]


def test_pages_and_requisites_in_turn_while_few_pages_are_on_their_way() -> None:
    q = queue(2)
    for n in range(4):
        q.push(requisite(n))
        q.push(page(n))
    assert len(q) == 8
    popped = [q.pop() for _ in range(5)]
    # in turn, then two pages on their way: requisites first, as Scrapy would
    assert names(popped) == ["p3", "r3.jpg", "p2", "r2.jpg", "r1.jpg"]
    del popped  # Scrapy is done with both pages: they are no longer on their way
    gc.collect()
    assert names([q.pop() for _ in range(4)]) == ["p1", "r0.jpg", "p0", "-"]
    assert len(q) == 0


def test_without_pages_ahead_scrapy_order_requisites_first() -> None:
    q = queue(0)
    for n in range(2):
        q.push(page(n, priority=0))
        q.push(requisite(n))
    q.push(page(9, priority=-1))
    assert names([q.pop() for _ in range(6)]) == ["r1.jpg", "r0.jpg", "p1", "p0", "p9", "-"]


def test_requisites_go_when_no_page_waits() -> None:
    q = queue(5)
    q.push(requisite(0))
    assert names([q.pop(), q.pop()]) == ["r0.jpg", "-"]


def test_a_disk_queue_is_closed_and_opened_again(tmp_path: Path) -> None:
    q = queue(1, str(tmp_path / "q"), PickleFifoDiskQueue)
    for n in range(2):
        q.push(page(n))
        q.push(requisite(n))
    state = q.close()
    assert state == {"pages": [1], "requisites": [-1]}
    again = queue(1, str(tmp_path / "q"), PickleFifoDiskQueue, state)
    assert len(again) == 4
    assert names([again.pop() for _ in range(5)]) == ["p0", "r0.jpg", "r1.jpg", "p1", "-"]


def test_the_project_uses_it() -> None:
    crawler = get_crawler(settings_dict={"PAGES_AHEAD": project.PAGES_AHEAD})
    assert project.SCHEDULER_PRIORITY_QUEUE == "crawler.fetchorder.PagesAhead"
    built = PagesAhead.from_crawler(crawler, LifoMemoryQueue, "")
    assert built.pages_ahead == project.PAGES_AHEAD > 0
    with pytest.raises(ValueError, match="PAGES_AHEAD must be 0 or more"):
        queue(-1)
