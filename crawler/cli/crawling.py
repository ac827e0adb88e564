"""Commands that find and crawl citations: ``seeds``, ``crawl``, ``worker``, ``demo``."""

from __future__ import annotations

import sys

import click

from crawler.browser.policy import BROWSER_MODES
from crawler.cli.base import (
    UsageFailure,
    echo_json_line,
    engines_of,
    lock_mode_option,
    main,
    one_line_errors,
    outlets_option,
    quiet_keyboard_interrupt,
    registry_of,
    retain_days_option,
)

set_option = click.option(
    "-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE", help="Scrapy setting."
)
browser_option = click.option(
    "--browser",
    type=click.Choice(BROWSER_MODES, case_sensitive=False),
    default=None,
    help="Render pages in Chromium: auto (pages of outlets flagged browser = true, and pages "
    "that look script-built), always (every page; never requisites) or never. Setting "
    "BROWSER_MODE, default auto.",
)
log_level_option = click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    help="Scrapy's log level (the summary is printed at the end either way).",
)


def scrapy_settings(overrides: tuple[str, ...], log_level: str) -> dict[str, object]:
    """The Scrapy settings of ``-s NAME=VALUE`` flags and ``--log-level``."""
    settings: dict[str, object] = {"LOG_LEVEL": log_level, "STATS_DUMP": log_level == "DEBUG"}
    for pair in overrides:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageFailure(f"--set {pair!r}: use NAME=VALUE")
        settings[name] = value
    return settings


@main.command()
@click.argument("seeds", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object a citation.")
@click.option(
    "--allow-private", is_flag=True, help="Let URL seeds on private addresses be fetched."
)
@outlets_option
@one_line_errors
def seeds(
    seeds: tuple[str, ...], as_json: bool, allow_private: bool, outlets: tuple[str, ...]
) -> None:
    """List what the SEEDS cite: URLs, .html, .txt/.md articles or .seeds lists."""
    from crawler.fetch import fetch_seed
    from crawler.searches import check_searches, search_citations, seed_searches
    from crawler.seeds import read_seeds

    registry, engines, searches = registry_of(outlets), engines_of(outlets), seed_searches(seeds)
    check_searches(searches, engines)
    reading = read_seeds(
        list(seeds), registry, fetch=lambda url: fetch_seed(url, allow_private=allow_private)
    )
    citations = search_citations(searches, engines, registry, pages=1) + reading.citations
    for citation in citations:
        if as_json:
            echo_json_line(citation.to_dict())
        else:
            click.echo(
                f"{citation.source:12} {citation.outlet or '-':24} {citation.url}\n"
                f"{'':12} {citation.context[:110]}"
            )
    for name in reading.unresolved:  # sources named that no registry holds: no URL
        if as_json:
            echo_json_line(name.to_dict())
        else:
            click.echo(f"named-unresolved {name.name}\n{'':12} {name.context[:110]}")


@main.command()
@click.argument("seeds", nargs=-1)
@click.option(
    "--store", default="./archive", show_default=True, help="Folder, file:// or s3://bucket/prefix."
)
@click.option("--crawl-id", default=None, help="Default: the UTC start time, YYYYMMDDTHHMMSSZ.")
@click.option(
    "--resume",
    default=None,
    metavar="ID",
    help="Finish crawl ID, stopped or killed before it finished, as it was asked for.",
)
@click.option(
    "--depth", default=0, show_default=True, type=int, help="Link hops from cited pages, same site."
)
@click.option(
    "--allow-private", is_flag=True, help="Allow private and loopback addresses (local tests)."
)
@click.option(
    "--ignore-robots", is_flag=True, help="Do not obey robots.txt (recorded in warcinfo)."
)
@click.option(
    "--redis",
    "redis_url",
    default=None,
    metavar="URL",
    help="Share the crawl through Redis (redis://HOST:PORT/DB) with scrubwatch worker processes.",
)
@click.option(
    "--search",
    "searches",
    multiple=True,
    metavar="ENGINE:QUERY",
    help="Also crawl a search's result pages (engines: the registry's [engines.<key>]); repeatable.",
)
@click.option(
    "--search-pages",
    type=click.IntRange(min=1),
    default=None,
    help="Result pages of each search (setting SEARCH_PAGES, default 1).",
)
@browser_option
@set_option
@retain_days_option
@lock_mode_option
@log_level_option
@outlets_option
@one_line_errors
def crawl(
    seeds: tuple[str, ...],
    store: str,
    crawl_id: str | None,
    resume: str | None,
    depth: int,
    allow_private: bool,
    ignore_robots: bool,
    overrides: tuple[str, ...],
    outlets: tuple[str, ...],
    retain_days: int | None,
    lock_mode: str | None,
    log_level: str,
    redis_url: str | None,
    browser: str | None,
    searches: tuple[str, ...],
    search_pages: int | None,
) -> None:
    """Crawl what the SEEDS cite, with requisites, into WARC files in the store."""
    from crawler.crawl import run_crawl

    if not seeds and not searches and not resume and not crawl_id:
        raise UsageFailure(
            "no seeds given: name a seed article (URL, .html, .txt), a .seeds list or a --search"
        )
    settings = scrapy_settings(overrides, log_level)
    if searches:
        settings["SEARCHES"] = list(searches)
    if search_pages is not None:
        settings["SEARCH_PAGES"] = search_pages
    with quiet_keyboard_interrupt():
        summary = run_crawl(
            list(seeds),
            store,
            crawl_id=crawl_id,
            resume=resume,
            depth=depth,
            allow_private=allow_private,
            ignore_robots=ignore_robots,
            outlets=list(outlets),
            retain_days=retain_days,
            lock_mode=lock_mode,
            redis_url=redis_url,
            browser=browser,
            overrides=settings,
        )
    for line in summary.lines():
        click.echo(line)
    if summary.nothing_captured:
        click.echo(summary.nothing_captured, err=True)
    if summary.error or summary.nothing_captured:
        sys.exit(1)


@main.command()
@click.option("--redis", "redis_url", required=True, metavar="URL", help="The crawl's Redis.")
@click.option("--store", required=True, help="The crawl's store: the same as the coordinator's.")
@click.option("--crawl-id", required=True, help="The crawl to join.")
@click.option(
    "--allow-private", is_flag=True, help="Allow private and loopback addresses (local tests)."
)
@browser_option
@set_option
@log_level_option
@outlets_option
@one_line_errors
def worker(
    redis_url: str,
    store: str,
    crawl_id: str,
    allow_private: bool,
    overrides: tuple[str, ...],
    log_level: str,
    outlets: tuple[str, ...],
    browser: str | None,
) -> None:
    """Join a crawl started with crawl --redis, from this process or another machine."""
    from crawler.worker import run_worker

    with quiet_keyboard_interrupt():
        summary = run_worker(
            redis_url,
            store,
            crawl_id,
            allow_private=allow_private,
            outlets=list(outlets),
            browser=browser,
            overrides=scrapy_settings(overrides, log_level),
        )
    for line in summary.lines():
        click.echo(line)
    if summary.error:
        sys.exit(1)


@main.command()
@click.option("--store", default="./archive", show_default=True, help="Where the demo archives.")
@click.option(
    "--port",
    default=0,
    type=click.IntRange(0, 65535),
    help="Port of the local cited web (0: any free one).",
)
@click.option(
    "--import",
    "with_import",
    is_flag=True,
    help="Instead: a local pywb holds version 1, version 2 is crawled live, and "
    "scrubwatch import brings the removed photo's earlier capture back (make demo-import).",
)
@click.option(
    "--pywb",
    "pywb_venv",
    default=".venv-pywb",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The venv pywb is installed in (make pywb), for --import.",
)
@one_line_errors
def demo(store: str, port: int, with_import: bool, pywb_venv: str) -> None:
    """Serve the local replay of the cited web on loopback and archive it."""
    if with_import:
        from pathlib import Path

        from crawler.importdemo import run_import_demo

        run_import_demo(store, pywb_venv=Path(pywb_venv), port=port, echo=click.echo)
        return
    from crawler.demo import run_demo

    run_demo(store, port=port, echo=click.echo)
