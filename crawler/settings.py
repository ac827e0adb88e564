"""Scrapy settings of the scrubwatch project: the one place where every default lives.

``scrapy crawl cited`` (through ``scrapy.cfg``) and ``scrubwatch crawl`` both load this
module; the CLI only overrides values from its flags. Components read these with
Scrapy's typed getters in ``from_crawler`` and pass plain values on; they give no
fallback of their own. Where the library in ``storage/`` has a default of its own (the
bound on decoding, the Object Lock mode), the setting's default is that constant.
"""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import default_settings as _scrapy_defaults

from crawler import __version__
from storage.contentcoding import DEFAULT_MAX_BYTES
from storage.retention import DEFAULT_LOCK_MODE

BOT_NAME = "scrubwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = f"scrubwatch/{__version__} (web archiving; +https://github.com/scrubwatch/scrubwatch)"

# --- politeness -------------------------------------------------------------
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.0
# Scrapy runs the output of each response through CONCURRENT_ITEMS asyncio tasks, all
# started for every response (scrapy/scrapy#5182): at the default of 100, a photo's one
# item costs 101 tasks, a third of the crawl process's CPU while it fetches requisites.
# A page yields one item; the rest of its output is requests, which are not awaited.
CONCURRENT_ITEMS = 8
# Requisites come first (priority 1), except that pages and requisites take turns while
# fewer than PAGES_AHEAD pages are on their way (crawler/fetchorder.py): the first pages
# of a site bring in its shared requisites by the hundred, and the extraction workers waited.
SCHEDULER_PRIORITY_QUEUE = "crawler.fetchorder.PagesAhead"
PAGES_AHEAD = 16
# AutoThrottle as crawler/throttle.py amends it: a host's delay comes down on any quick
# answer (a 404 too) and backs off on 429 and 503 (to their Retry-After), up to the max.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 60
# Failures in a row (the name does not resolve, the connection is refused, no answer in
# DOWNLOAD_TIMEOUT) after which a host is dead for the crawl: its requests fail at once,
# unsent (crawler/deadhosts.py). Any answer clears the count; 0: never dead.
DEAD_HOST_FAILURES = 2
# A body past DOWNLOAD_MAXSIZE is cut there and archived truncated (WARC-Truncated:
# length), see crawler/middlewares/oversize.py; decoded past it, it is not decompressed.
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
# A URL that failed after its retries is a line of the crawl log and a count in the
# summary, not an error of the crawl (Scrapy: ERROR).
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
# Every status reaches the spider: a 404 or a 410 is evidence, not an error.
HTTPERROR_ALLOW_ALL = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control runs Python code sent to a local HTTP port: off, like the
# telnet console, and left out of Scrapy's base extensions so that it is not even
# imported (Scrapy imports every class named in EXTENSIONS, None or not, and this one
# brings aiohttp into the crawl process's memory).
REMOTE_CONTROL_ENABLED = False
EXTENSIONS_BASE = {
    name: order
    for name, order in _scrapy_defaults.EXTENSIONS_BASE.items()
    if name != "scrapy.extensions.remote_control.RemoteControl"
}
LOG_LEVEL = "INFO"

# --- SSRF guard ---------------------------------------------------------------
# The resolver refuses names that resolve to private, loopback, link-local,
# multicast, reserved or unspecified addresses; the middleware refuses such IP
# literals before any connection.  SSRF_ALLOW_PRIVATE opens both (tests, demo).
TWISTED_DNS_RESOLVER = "crawler.resolver.GuardedResolver"
SSRF_ALLOW_PRIVATE = False
# Networks treated as public even so (CIDR or single addresses), e.g. a test's
# one loopback outlet; everything else stays guarded.
SSRF_ALLOWED_NETWORKS: list[str] = []

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.ssrf.SsrfGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.metarefresh.PageMetaRefresh": 580,
    "crawler.middlewares.compression.DecompressWithoutDetection": 590,
    "crawler.middlewares.deadhost.DeadHostMiddleware": 955,
    "crawler.middlewares.oversize.TruncateOversize": 960,
}

EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.throttle.PoliteThrottle": 0,
    "crawler.fetcherrors.QuietFetchErrors": 0,
    "pipelines.warc.WarcCapture": 100,
    "pipelines.publish.PublishCrawl": 200,
    "crawler.memory.ReleaseFreeMemory": 300,
}
# Seconds between two returns of malloc's free pages to the system (pipelines/malloc.py),
# by the crawl process (crawler/memory.py) and by each extraction worker after a page
# (pipelines/extractpool.py); 0: never. Less often, memory peaks higher (bench/README.md).
MEMORY_TRIM_INTERVAL = 0.5

ITEM_PIPELINES = {
    "pipelines.crawllog.CrawlLogPipeline": 100,
    "pipelines.extract.ExtractPipeline": 300,
    "crawler.probe.SoftNotFound": 350,
    "pipelines.dataset.DatasetPipeline": 400,
    "pipelines.searchresults.SearchResultsPipeline": 450,
}

# --- what to crawl ------------------------------------------------------------
# Links followed from cited pages, within their registered domain (0: cited pages
# and their requisites only).
CRAWL_DEPTH = 0
SEEDS: list[str] = []
OUTLETS_REGISTRY = str(Path(__file__).resolve().parents[1] / "seeds" / "outlets.toml")
EXTRA_OUTLETS: list[str] = []
# Search seeds as ENGINE:QUERY (`--search`; `search ENGINE QUERY` lines of a .seeds list
# add to them), engines from the registry's [engines.<key>] tables, and the result pages
# asked for of each (`--search-pages`; 1 where an engine's URL names no page).
SEARCHES: list[str] = []
SEARCH_PAGES = 1
# Ask again for the requisites the previous crawl in the store fetched for a page,
# so that an image taken off a page is on record as gone (404) or still there.
RECHECK_REQUISITES = True
# A page that was there in the previous crawl and now answers 200 changed a lot is
# compared with its host's answer to a random URL beside it, one such probe per host and
# path level: the soft 404s of any wording (crawler/probe.py, the row's soft_404).
SOFT404_PROBE = True

# --- browser ------------------------------------------------------------------
# Pages that script builds are rendered in Chromium (crawler/browser/), every request they
# make fetched through Scrapy's downloader and archived like any other. When: "auto"
# renders the pages of outlets flagged browser = true and pages whose HTML looks
# script-built (the rule: crawler/browser/policy.py), "always" every page, "never" none;
# requisites never are (`--browser`).
BROWSER_MODE = "auto"
# Pages open in the browser at once: each is a renderer process, the crawl's largest
# share of memory, and the browser's requests wait in Scrapy's per-site politeness.
BROWSER_PAGES = 2
# Seconds a page may take to load and fall network-idle before it is captured as it is:
# pages that poll or stream are never idle.
BROWSER_PAGE_TIMEOUT = 30
# Scrolls down a page, one viewport each, so that lazy images load: bounded, because an
# endless feed has no bottom.
BROWSER_SCROLL_STEPS = 10
# Bytes of requisites kept in memory (decoded) to answer a rendered page's requests for what
# the crawl has fetched already: pages of a site share them, and a crawl fetches a URL once.
BROWSER_REPEAT_BYTES = 32 * 1024 * 1024
# The Chromium binary (a path, or a name looked up in PATH); empty: Debian's package's
# /usr/lib/chromium/chromium (/usr/bin/chromium is a script that adds its own flags).
BROWSER_EXECUTABLE = ""

# --- archive ------------------------------------------------------------------
STORE_URI = "./archive"
CRAWL_ID = ""  # empty: the UTC start time, YYYYMMDDTHHMMSSZ
# empty: <store>/.staging for a local store, ~/.cache/scrubwatch/staging/<store> otherwise
STAGING_DIR = ""
WARC_PREFIX = "scrubwatch"
WARC_MAX_SIZE = 1_000_000_000
WARC_OPERATOR = ""
# Payloads smaller than this many bytes are written in full every time, never as
# revisit records: a revisit's own headers (profile, original URI, date and record id:
# 250 bytes and the URL) would take more room than they save.
WARC_DEDUP_MIN_SIZE = 256
# Exchanges in a row that cannot be written (a full disk) after which the crawl stops
# (close reason disk_full), its files kept in the staging folder, unpublished.
WARC_MAX_WRITE_ERRORS = 3
# Days every stored object stays under S3 Object Lock (0: none; the bucket must have
# Object Lock enabled), and the lock mode: GOVERNANCE (can be lifted with
# s3:BypassGovernanceRetention) or COMPLIANCE (nobody can delete it early).
STORE_RETAIN_DAYS = 0
STORE_LOCK_MODE = DEFAULT_LOCK_MODE

ADDONS = {
    "crawler.addon.CrawlIdentity": 0,
    "crawler.addon.SharedFrontier": 10,
    "crawler.browser.addon.BrowserCapture": 20,
    "crawler.searchaddon.SearchEngines": 30,
}

# --- scale-out on Redis ---------------------------------------------------------
# With REDIS_URL (redis://HOST:PORT/DB, `--redis`) the crawl's frontier, dupefilter and
# payload digests live in Redis, and `scrubwatch worker` processes join it: see
# crawler/frontier.py. Each worker writes its own files into the same store.
REDIS_URL = ""
FRONTIER_ROLE = "coordinator"  # "worker" for `scrubwatch worker`
WORKER_ID = ""  # empty: <host>-<pid>, as in WARC file names
FRONTIER_HEARTBEAT = 5.0  # seconds between a worker's heartbeats
FRONTIER_WORKER_TTL = 60.0  # seconds without a heartbeat after which a worker is gone
FRONTIER_POLL_INTERVAL = 0.5  # seconds between an idle worker's looks at the frontier
FRONTIER_PUBLISH_TIMEOUT = 3600.0  # seconds the coordinator waits for workers to publish
FRONTIER_JOIN_TIMEOUT = 60.0  # seconds a worker waits for its crawl to start

# --- text extraction and dataset ----------------------------------------------
# Every captured HTML page is extracted (trafilatura, in worker processes, each page
# under a time limit) into one row of the crawl's dataset (storage.layout: datasets/text/
# crawl_id=<id>/part-NNNNN.parquet, and datasets/text-jsonl/ for its JSON Lines copy).
EXTRACT_ENABLED = True
EXTRACT_WORKERS = 0  # 0: one per core
EXTRACT_TIMEOUT = 30.0  # seconds per page; a worker past it is killed and replaced
# Decoded HTML larger than this is not extracted: the bound on undoing a content coding.
EXTRACT_MAX_BYTES = DEFAULT_MAX_BYTES
# trafilatura's fast mode (no fallback extractors): about a fifth less CPU a page, but a
# page whose main text the first pass misses keeps what it found (bench/README.md).
EXTRACT_FAST = False
DATASET_ROWS_PER_PART = 50_000
# A Parquet row group is written at whichever of these comes first; the bytes (of the
# rows held in Arrow, before compression) bound the memory of making the Parquet parts
# from the JSONL ones at the crawl's end, whatever its pages.
DATASET_ROW_GROUP_ROWS = 10_000
DATASET_ROW_GROUP_BYTES = 32 * 1024 * 1024
# Bytes of responses (their bodies) in the item pipelines, extraction included, past which
# Scrapy starts no new download (Scrapy: 5,000,000). The extraction workers are the
# bound of an end-to-end crawl: pages waiting for them beyond a few are memory, not speed.
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 2_000_000

# --- imports from public web archives (scrubwatch import) ----------------------
# Where `scrubwatch import` looks captures up: a CDX server (the Wayback Machine's, or
# any pywb's /<coll>/cdx) whose mementos replay under ARCHIVE_REPLAY_URL, or a Memento
# TimeMap endpoint (RFC 7089, link format) the URL is appended to (`--from memento`).
ARCHIVE_CDX_URL = "https://web.archive.org/cdx/search/cdx"
ARCHIVE_REPLAY_URL = "https://web.archive.org/web/"
ARCHIVE_TIMEMAP_URL = "https://web.archive.org/web/timemap/link/"
# Politeness towards the archive: one request at a time, this many seconds apart; on
# 429/503 wait what Retry-After says (at most ARCHIVE_MAX_WAIT), ARCHIVE_RETRIES times.
ARCHIVE_DELAY = 1.0
ARCHIVE_RETRIES = 3
ARCHIVE_MAX_WAIT = 120.0
ARCHIVE_TIMEOUT = 60.0

# --- replay (scrubwatch replay) -------------------------------------------------
# ReplayWeb.page's viewer (ui.js, sw.js) comes from its npm package, fetched with npm into
# this cache at first use: it is AGPL-3.0, never part of scrubwatch. Empty cache:
# ~/.cache/scrubwatch/replaywebpage.
REPLAYWEBPAGE_VERSION = "2.5.3"
REPLAYWEBPAGE_CACHE = ""
