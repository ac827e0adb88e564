"""The baselines the project is measured against: a bare CrawlSpider and a naive archiver.

``bare``: a Scrapy ``CrawlSpider`` that follows the site's pages from the seed list
(every index page) with a ``LinkExtractor`` and fetches the same requisites the project
fetches (the project's ``page_requisites`` behind a link extractor's interface), storing
nothing. ``naive``: the same crawl, written the way a user would first write an archiving
spider: in the callback, each response goes into a warcio ``WARCWriter`` and each HTML
page through ``trafilatura.extract`` (metadata on, JSON) into a JSON Lines file, all in
one process.

With ``--no-requisites`` (figure 2 on the like-for-like site, which has none) both are
what a user writes for a site's articles: index pages followed, articles archived and
not searched for links (a ``Rule`` with ``follow=False``), no requisite rule; so an
article is parsed only by trafilatura (the naive spider) or not at all (bare).

Both use the project's politeness settings (``crawler/settings.py``) with the overrides
the benchmarks give the project's crawl (:data:`BENCH_OVERRIDES`).

Usage: ``python bench/baselines.py bare|naive SEEDS_FILE --out DIR --stats FILE
[--no-requisites]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path
from typing import Any

import trafilatura
from scrapy import Request
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response, TextResponse
from scrapy.link import Link
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler import settings as project  # noqa: E402
from crawler.requisites import page_requisites  # noqa: E402

#: What every benchmarked crawl gets on its command line, the project's and the baselines'.
BENCH_OVERRIDES: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
}

#: The project's politeness and robustness settings, so that both sides fetch alike.
SHARED = (
    {
        name: getattr(project, name)
        for name in (
            "ROBOTSTXT_OBEY",
            "CONCURRENT_REQUESTS",
            "CONCURRENT_REQUESTS_PER_DOMAIN",
            "DOWNLOAD_DELAY",
            "AUTOTHROTTLE_ENABLED",
            "DOWNLOAD_TIMEOUT",
            "DOWNLOAD_MAXSIZE",
            "RETRY_ENABLED",
            "RETRY_TIMES",
            "HTTPERROR_ALLOW_ALL",
            "COOKIES_ENABLED",
            "TELNETCONSOLE_ENABLED",
            "USER_AGENT",
        )
    }
    | BENCH_OVERRIDES
    | {"LOG_LEVEL": "WARNING"}
)

# The site's pages (see newssite.py); an article links no other page of the site, so
# following these from the index pages is what the project's ``--depth 1`` does.
PAGES = LinkExtractor(allow=(r"/index/\d+\.html$", r"/p/\d+/[0-9a-f]+\.html$"))
INDEXES = LinkExtractor(allow=r"/index/\d+\.html$")
ARTICLES = LinkExtractor(allow=r"/p/\d+/[0-9a-f]+\.html$")


class RequisiteLinks(LinkExtractor):
    """The project's own requisite finder behind a link extractor's interface.

    Both sides then fetch exactly the same requisites, so the comparison measures what
    capturing them costs, not differences in finding them.
    """

    def extract_links(self, response: Response) -> list[Link]:
        if not isinstance(response, TextResponse):
            return []
        return [Link(url) for url in page_requisites(response)]


REQUISITES = RequisiteLinks()


class SeededCrawlSpider(CrawlSpider):
    """Starts from the seed list; its requests are filtered for duplicates like any other.

    (The default ``start()`` sets ``dont_filter``, so an index page reached again
    through the chain would be fetched twice; the project's seeds are filtered.)
    """

    def __init__(self, seeds: list[str], requisites: bool = True, **kwargs: Any) -> None:
        self.start_urls = seeds
        if not requisites:  # before CrawlSpider compiles the rules
            callback = self.rules[0].callback
            self.rules = (
                Rule(INDEXES, callback=callback, follow=True),
                Rule(ARTICLES, callback=callback, follow=False),
            )
        super().__init__(**kwargs)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.start_urls:
            yield Request(url)


class BareSpider(SeededCrawlSpider):
    name = "bare"
    rules = (Rule(PAGES, follow=True), Rule(REQUISITES, follow=False))


class NaiveSpider(SeededCrawlSpider):
    name = "naive"
    rules = (
        Rule(PAGES, callback="archive", follow=True),
        Rule(REQUISITES, callback="archive", follow=False),
    )

    def __init__(self, seeds: list[str], out: str, requisites: bool = True, **kwargs: Any) -> None:
        super().__init__(seeds, requisites, **kwargs)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        self.warc_file = (folder / "crawl.warc.gz").open("wb")
        self.writer = WARCWriter(self.warc_file, gzip=True)
        self.dataset = (folder / "pages.jsonl").open("w", encoding="utf-8")

    def parse_start_url(self, response: Response, **kwargs: Any) -> list[Any]:
        self.archive(response)
        return []

    def archive(self, response: Response) -> None:
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, vs in response.headers.items()
            for v in vs
        ]
        http_headers = StatusAndHeaders(f"{response.status} OK", headers, protocol="HTTP/1.1")
        record = self.writer.create_warc_record(
            response.url, "response", payload=BytesIO(response.body), http_headers=http_headers
        )
        self.writer.write_record(record)
        if isinstance(response, TextResponse) and b"html" in (
            response.headers.get("Content-Type") or b""
        ):
            extracted = trafilatura.extract(
                response.text, url=response.url, output_format="json", with_metadata=True
            )
            row = json.loads(extracted) if extracted else {"url": response.url, "text": None}
            self.dataset.write(json.dumps(row, ensure_ascii=False) + "\n")

    def closed(self, reason: str) -> None:
        self.warc_file.close()
        self.dataset.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spider", choices=("bare", "naive"))
    parser.add_argument("seeds", type=Path, help="a file of start URLs, one a line")
    parser.add_argument("--out", default=".", help="folder for the naive spider's files")
    parser.add_argument("--stats", type=Path, help="write Scrapy's stats here as JSON")
    parser.add_argument(
        "--no-requisites",
        action="store_true",
        help="follow the site's pages only (the like-for-like site has no requisites)",
    )
    args = parser.parse_args()
    seeds = [line.strip() for line in args.seeds.read_text().splitlines() if line.strip()]
    process = CrawlerProcess(SHARED)
    spider = BareSpider if args.spider == "bare" else NaiveSpider
    crawler = process.create_crawler(spider)
    extra = {"out": args.out} if args.spider == "naive" else {}
    process.crawl(crawler, seeds=seeds, requisites=not args.no_requisites, **extra)
    process.start()
    if args.stats and crawler.stats is not None:
        args.stats.write_text(json.dumps(crawler.stats.get_stats(), default=str, indent=1))


if __name__ == "__main__":
    main()
