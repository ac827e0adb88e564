"""Runs the ``cited`` spider in this process, with the project's settings.

``scrubwatch crawl`` and ``scrapy crawl cited`` share this code path: the same
settings module, the same spider, the same extensions. Everything a user can get
wrong (seeds, store, crawl id) is checked here first, before anything is fetched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

# First: Scrapy's deprecated TLS class aliases are made with inspect.stack(), whose cost
# grows with the depth of the stack and the modules loaded; imported here rather than
# at the bottom of the browser handler's imports, that is 0.1 s less of every start.
import scrapy.core.downloader.contextfactory  # noqa: F401
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawler.browser.chromium import check_browser
from crawler.engines import EngineRegistry
from crawler.logs import skip_unlogged
from crawler.middlewares.deadhost import DeadHostMiddleware
from crawler.outlets import OutletRegistry
from crawler.resume import (
    RESUME_COMPONENTS,
    RUN_ONLY,
    CrawlArgs,
    finished,
    read_args,
    resumable,
    running,
    seed_paths,
    write_args,
)
from crawler.searches import all_searches, check_searches
from crawler.seeds import load_seed
from crawler.spiders.cited import CitedSpider, is_url
from crawler.summary import CrawlError, CrawlSummary, no_seed_captured
from crawler.throttle import PoliteThrottle
from pipelines.crawllog import CrawlLogPipeline
from pipelines.publish import PublishCrawl, check_new
from pipelines.warc import WarcCapture
from storage import (
    Store,
    new_crawl_id,
    open_store,
    validate_crawl_id,
)
from storage.crawlgroup import CrawlGroup, GroupError, connect
from storage.crawlinfo import CrawlInfo
from storage.errors import BadInput
from storage.layout import ARGS_NAME, LOCK_NAME, default_staging_dir, staged_crawl
from storage.publish import PublishError, publish_crawl, read_info
from storage.resumable import prepare, resume_command
from storage.stores import store_identity

T = TypeVar("T")


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def early_setting(settings: Settings, name: str, kind: str) -> Any:
    """A setting read before Scrapy starts, with ``getint``, ``getfloat``... (``kind``: "int",
    "float"...); BadInput naming it if its value (a ``-s`` flag's) is not one."""
    try:
        return getattr(settings, f"get{kind}")(name)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"setting {name}: {settings.get(name)!r} is not a valid {kind}") from exc


def check_seeds(seeds: list[str], registry: OutletRegistry) -> None:
    """Read every file seed now, so a bad one fails before the crawl starts."""
    if not seeds:
        raise CrawlError("no seeds given: name a seed article (URL, .html, .txt) or a .seeds list")
    for seed in seeds:
        if not is_url(seed):
            load_seed(seed, registry)


def _writable_store(store_uri: str, early: Settings) -> Store:
    store = open_store(
        store_uri,
        retain_days=early_setting(early, "STORE_RETAIN_DAYS", "int"),
        lock_mode=early.get("STORE_LOCK_MODE"),
    )
    store.check_writable()
    return store


def run_crawl(
    seeds: list[str],
    store_uri: str,
    *,
    crawl_id: str | None = None,
    resume: str | None = None,
    depth: int = 0,
    allow_private: bool = False,
    ignore_robots: bool = False,
    outlets: list[str] | None = None,
    retain_days: int | None = None,
    lock_mode: str | None = None,
    redis_url: str | None = None,
    browser: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> CrawlSummary:
    """Crawl ``seeds`` into the store at ``store_uri``; the flags override the settings.

    ``retain_days``, ``lock_mode`` and ``browser`` set ``STORE_RETAIN_DAYS``,
    ``STORE_LOCK_MODE`` and ``BROWSER_MODE``;
    ``redis_url`` shares the crawl with ``scrubwatch worker`` processes (``REDIS_URL``).
    ``resume`` (or a ``crawl_id`` that is staged and not yet published) finishes a crawl
    that was stopped or killed, as it was asked for first (see :mod:`crawler.resume`).
    """
    overrides = dict(overrides or {})
    if retain_days is not None:
        overrides["STORE_RETAIN_DAYS"] = retain_days
    if lock_mode is not None:
        overrides["STORE_LOCK_MODE"] = lock_mode
    if browser is not None:
        overrides["BROWSER_MODE"] = browser
    early = project_settings(overrides)
    store = _writable_store(store_uri, early)
    if resume and crawl_id and resume != crawl_id:
        raise CrawlError(f"--resume {resume} and --crawl-id {crawl_id} disagree: give one")
    crawl_id = validate_crawl_id(resume or crawl_id or new_crawl_id(datetime.now(UTC)))
    staging_root = Path(early.get("STAGING_DIR") or default_staging_dir(store))
    if resume or (not redis_url and read_args(staging_root, crawl_id) is not None):
        return resume_crawl(store, staging_root, crawl_id, seeds, overrides)
    check_new(store, crawl_id)
    if depth < 0:
        raise CrawlError(f"--depth must be 0 or more, got {depth}")
    if redis_url:
        overrides["REDIS_URL"] = redis_url
        check_new_shared(redis_url, crawl_id)
    args = CrawlArgs(
        seeds=seed_paths(seeds),
        store=store_identity(store),
        depth=depth,
        allow_private=allow_private,
        ignore_robots=ignore_robots,
        outlets=[str(Path(p).resolve()) for p in outlets or []],
        overrides={k: v for k, v in overrides.items() if k not in RUN_ONLY},
    )
    settings = crawl_settings(crawl_id, args, overrides)
    if redis_url:  # a crawl shared over Redis is not resumed
        return run_process(settings, store.uri)
    with running(staging_root, crawl_id):
        write_args(staging_root, crawl_id, args)
        return run_process(settings, store.uri)


def crawl_settings(crawl_id: str, args: CrawlArgs, overrides: dict[str, Any]) -> Settings:
    """The settings of a crawl asked for with ``args`` (see :func:`crawler.resume.write_args`)."""
    settings = project_settings(
        {
            "SEEDS": args.seeds,
            "STORE_URI": args.store,
            "CRAWL_ID": crawl_id,
            "CRAWL_DEPTH": args.depth,
            "SSRF_ALLOW_PRIVATE": args.allow_private,
            "ROBOTSTXT_OBEY": not args.ignore_robots,
            **overrides,
        }
    )
    use_outlets(settings, args.outlets)
    check_browser(settings)
    registries = [settings.get("OUTLETS_REGISTRY"), *settings.getlist("EXTRA_OUTLETS")]
    registry = OutletRegistry.load(*registries)
    searches = all_searches(args.seeds, settings.getlist("SEARCHES"))
    check_searches(searches, EngineRegistry.load(*registries))
    if early_setting(settings, "SEARCH_PAGES", "int") < 1:
        raise BadInput(f"--search-pages must be 1 or more, got {settings.get('SEARCH_PAGES')}")
    if args.seeds or not searches:
        check_seeds(args.seeds, registry)
    return settings


def resume_crawl(
    store: Store, staging_root: Path, crawl_id: str, seeds: list[str], overrides: dict[str, Any]
) -> CrawlSummary:
    """Finish the staged crawl ``crawl_id``: mend its WARC files, then crawl what is left."""
    args = resumable(store, staging_root, crawl_id, seeds)
    with running(staging_root, crawl_id):
        settings = crawl_settings(crawl_id, args, {**args.overrides, **overrides})
        if finished(staging_root, crawl_id):
            return push_finished(store, staging_root, crawl_id)
        for name, components in RESUME_COMPONENTS.items():
            settings.set(name, {**settings.getdict(name), **components}, priority="cmdline")
        # Scrapy's JOBDIR would filter out the captured pages that must be parsed again.
        settings.set("JOBDIR", "", priority="cmdline")
        mended = prepare(staging_root, crawl_id, keep=[ARGS_NAME, LOCK_NAME])
        summary = run_process(settings, store.uri)
    summary.mended = mended
    return summary


def push_finished(store: Store, staging_root: Path, crawl_id: str) -> CrawlSummary:
    """Put a crawl that finished, and whose publishing did not, into the store."""
    info = read_info(staged_crawl(staging_root, crawl_id)) or CrawlInfo()
    try:
        published = publish_crawl(store, staging_root, crawl_id)
    except PublishError as exc:
        return CrawlSummary(crawl_id, store.uri, dict(info.counts), error=str(exc))
    stats = {
        **info.counts,
        "store/files": len(published.stored) + len(published.already_there),
    }
    return CrawlSummary(crawl_id, store.uri, stats)


def use_outlets(settings: Settings, outlets: list[str] | None) -> None:
    if outlets:  # given registries go on top of the shipped one
        extra = [*settings.getlist("EXTRA_OUTLETS"), *(str(Path(p).resolve()) for p in outlets)]
        settings.set("EXTRA_OUTLETS", extra, priority="cmdline")


def check_new_shared(redis_url: str, crawl_id: str) -> None:
    """Refuse a crawl id that Redis already holds, and a Redis that cannot be reached."""
    try:
        group = CrawlGroup(connect(redis_url), crawl_id)
        if group.fields():
            raise CrawlError(
                f"crawl {crawl_id} is already under way on {redis_url}: choose another --crawl-id"
            )
    except GroupError as exc:
        raise CrawlError(str(exc)) from exc


def stop_error(crawler: Crawler) -> str | None:
    """Why the crawl was not stored, as the components that can stop it say: the WARC
    writer (write errors in a row), then the publisher (stopped early, or a failed put)."""
    capture = crawler.get_extension(WarcCapture)
    publisher = crawler.get_extension(PublishCrawl)
    return (capture.error if capture else None) or (publisher.error if publisher else None)


#: roles of the pages a crawl is for; requisites alone are not a capture of a seed
PAGE_ROLES = ("seed", "cited", "linked")


def nothing_captured(crawler: Crawler) -> str | None:
    """The line saying why, when the crawl captured no page of its seeds.

    Not for a crawl shared over Redis: the other processes' pages are not counted here.
    """
    assert crawler.stats is not None
    settings = crawler.settings
    seeds = settings.getlist("SEEDS")
    if not seeds or settings.get("REDIS_URL"):
        return None
    if any(crawler.stats.get_value(f"crawl/items/{role}") for role in PAGE_ROLES):
        return None
    log = _component(crawler.get_item_pipeline, CrawlLogPipeline)
    return no_seed_captured(seeds, log.start_failures if log else [])


def _component(getter: Callable[[type[T]], T | None], cls: type[T]) -> T | None:
    """A component of the crawl; None also when the crawl never made its engine."""
    try:
        return getter(cls)
    except RuntimeError:
        return None


def hosts_report(crawler: Crawler) -> tuple[dict[str, str], dict[str, str]]:
    """The hosts found dead and the hosts slowed, each with why."""
    dead_hosts = _component(crawler.get_downloader_middleware, DeadHostMiddleware)
    throttle = _component(crawler.get_extension, PoliteThrottle)
    dead = {
        host: f"{dead.kind}, {dead.skipped} not sent"
        for host, dead in (dead_hosts.hosts.dead.items() if dead_hosts else ())
    }
    slowed = {host: s.text() for host, s in (throttle.slowed.items() if throttle else ())}
    return dead, slowed


def run_process(settings: Settings, store_uri: str) -> CrawlSummary:
    """Run the ``cited`` spider with ``settings`` in this process; sum up what it did."""
    crawl_id = settings.get("CRAWL_ID")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(CitedSpider)
    skip_unlogged(settings.get("LOG_LEVEL"))
    process.crawl(crawler)
    process.start()
    assert crawler.stats is not None
    stats = crawler.stats.get_stats()
    statuses = Counter(
        {
            int(k.rsplit("/", 1)[1]): v
            for k, v in stats.items()
            if k.startswith("downloader/response_status_count/")
        }
    )
    error = stop_error(crawler)
    if error is None and stats.get("finish_reason") != "finished" and "store/files" not in stats:
        # A second SIGTERM stops the reactor before the spider is closed: nothing said why.
        error = f"crawl {crawl_id} was stopped before it finished and nothing is stored"
        if not settings.get("REDIS_URL"):
            error += f": run `{resume_command(store_uri, crawl_id)}` to finish it"
    worker = crawler.settings.get("WORKER_ID") or None
    dead, slowed = hosts_report(crawler)
    return CrawlSummary(
        crawl_id,
        store_uri,
        stats,
        error=error,
        statuses=dict(statuses),
        worker=worker,
        dead_hosts=dead,
        slowed=slowed,
        nothing_captured=nothing_captured(crawler) if error is None else None,
    )
