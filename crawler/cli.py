"""``scrubwatch``: the command-line tool, a thin layer over :mod:`crawler` and :mod:`storage`.

Each command calls one library function; expected errors (a bad seed, a bad flag,
an unreachable store) become one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import click

from crawler import __version__
from crawler.outlets import OutletRegistry, SeedError
from crawler.settings import OUTLETS_REGISTRY
from storage import StoreError

F = TypeVar("F", bound=Callable[..., Any])


class UsageFailure(click.ClickException):
    exit_code = 2


def one_line_errors(func: F) -> F:
    """Turn the library's expected errors into one line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from crawler.crawl import CrawlError

        try:
            return func(*args, **kwargs)
        except (CrawlError, SeedError, StoreError, ValueError, OSError) as exc:
            raise UsageFailure(" ".join(str(exc).split()) or type(exc).__name__) from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def _quiet_keyboard_interrupt() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scrubwatch")
def main() -> None:
    """Archive what a news article cites, and see what was scrubbed later."""


def _registry(outlets: tuple[str, ...]) -> OutletRegistry:
    return OutletRegistry.load(*(outlets or (OUTLETS_REGISTRY,)))


outlets_option = click.option(
    "--outlets",
    "outlets",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Outlet registry (TOML) to use instead of seeds/outlets.toml; repeatable.",
)


@main.command()
@click.argument("seeds", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
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
    from crawler.seeds import load_seeds

    registry = _registry(outlets)
    citations = load_seeds(
        list(seeds), registry, fetch=lambda url: fetch_seed(url, allow_private=allow_private)
    )
    for citation in citations:
        if as_json:
            click.echo(json.dumps(citation.to_dict(), ensure_ascii=False))
        else:
            click.echo(
                f"{citation.source:12} {citation.outlet or '-':24} {citation.url}\n"
                f"{'':12} {citation.context[:110]}"
            )


@main.command()
@click.argument("seeds", nargs=-1, required=True)
@click.option(
    "--store", default="./archive", show_default=True, help="Folder, file:// or s3://bucket/prefix."
)
@click.option("--crawl-id", default=None, help="Default: the UTC start time, YYYYMMDDTHHMMSSZ.")
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
    "-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE", help="Scrapy setting."
)
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    help="Scrapy's log level (the summary is printed at the end either way).",
)
@outlets_option
@one_line_errors
def crawl(
    seeds: tuple[str, ...],
    store: str,
    crawl_id: str | None,
    depth: int,
    allow_private: bool,
    ignore_robots: bool,
    overrides: tuple[str, ...],
    outlets: tuple[str, ...],
    log_level: str,
) -> None:
    """Crawl what the SEEDS cite, with requisites, into WARC files in the store."""
    from crawler.crawl import run_crawl

    settings: dict[str, object] = {"LOG_LEVEL": log_level, "STATS_DUMP": log_level == "DEBUG"}
    for pair in overrides:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageFailure(f"--set {pair!r}: use NAME=VALUE")
        settings[name] = value
    with _quiet_keyboard_interrupt():
        summary = run_crawl(
            list(seeds),
            store,
            crawl_id=crawl_id,
            depth=depth,
            allow_private=allow_private,
            ignore_robots=ignore_robots,
            outlets=list(outlets),
            overrides=settings,
        )
    for line in summary.lines():
        click.echo(line)
    if summary.error:
        sys.exit(1)


@main.command()
@click.option("--store", default="./archive", show_default=True, help="Where the demo archives.")
@click.option("--port", default=0, type=int, help="Port of the local cited web (0: any free one).")
@one_line_errors
def demo(store: str, port: int) -> None:
    """Serve the local replay of the cited web on loopback and archive it."""
    from crawler.demo import run_demo

    run_demo(store, port=port, echo=click.echo)


if __name__ == "__main__":
    main()
