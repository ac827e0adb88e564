"""``scrubwatch``: the command-line tool, a thin layer over :mod:`crawler` and :mod:`storage`.

Each command calls one library function; expected errors (a bad seed, a bad flag,
an unreachable store) become one line on stderr and exit status 2. A command that
ran but found problems (``verify``, ``push``, ``pull``) exits with status 1.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from crawler import __version__
from crawler.outlets import OutletRegistry, SeedError
from crawler.settings import OUTLETS_REGISTRY, STAGING_DIR, STORE_LOCK_MODE
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


def _one_line_usage(exc: click.UsageError) -> UsageFailure:
    path = exc.ctx.command_path if exc.ctx is not None else "scrubwatch"
    return UsageFailure(f"{path}: {exc.format_message()} (see {path} --help)")


class OneLineGroup(click.Group):
    """A group whose usage errors (a missing argument, a bad option) are one line too."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _one_line_usage(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _one_line_usage(exc) from exc


@contextmanager
def _quiet_keyboard_interrupt() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


retain_days_option = click.option(
    "--retain-days",
    type=int,
    default=None,
    metavar="N",
    help="Keep every object stored under S3 Object Lock for N days (setting STORE_RETAIN_DAYS).",
)
lock_mode_option = click.option(
    "--lock-mode",
    type=click.Choice(["GOVERNANCE", "COMPLIANCE"], case_sensitive=False),
    default=None,
    help="Object Lock mode for --retain-days (setting STORE_LOCK_MODE, default GOVERNANCE).",
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
@retain_days_option
@lock_mode_option
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
    retain_days: int | None,
    lock_mode: str | None,
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
            retain_days=retain_days,
            lock_mode=lock_mode,
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


store_option = click.option(
    "--store", default="./archive", show_default=True, help="Folder, file:// or s3://bucket/prefix."
)


def _progress_bar() -> Any:
    from tqdm import tqdm

    return tqdm(unit="B", unit_scale=True, unit_divisor=1024, disable=not sys.stderr.isatty())


@main.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@one_line_errors
def crawls(store: str, as_json: bool) -> None:
    """List the crawls in the store: time, seeds, pages, files, bytes, complete or not."""
    from storage.catalog import list_crawls
    from storage.stores import open_existing_store

    opened = open_existing_store(store)
    entries = list_crawls(opened)
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry.to_dict(), ensure_ascii=False))
        return
    if not entries:
        click.echo(f"no crawls in store {opened.uri}")
        return
    click.echo(
        f"{'CRAWL':20} {'TIME':20} {'STATE':10} {'PAGES':>6} {'FILES':>6} {'BYTES':>14}  SEEDS"
    )
    for e in entries:
        when = e.to_dict()["time"] or "-"
        seeds = (
            (e.seeds[0] + (f" (+{len(e.seeds) - 1})" if len(e.seeds) > 1 else ""))
            if e.seeds
            else "-"
        )
        state = "complete" if e.complete else "incomplete"
        click.echo(
            f"{e.crawl_id:20} {when:20} {state:10} {e.pages:>6} {e.files:>6} {e.bytes:>14,}  {seeds}"
        )
        if e.note:
            click.echo(f"{'':20} {e.note}")


@main.command()
@store_option
@click.option("--crawl", "crawl_id", default=None, help="Only this crawl (default: every crawl).")
@one_line_errors
def verify(store: str, crawl_id: str | None) -> None:
    """Re-hash every file the manifests list, and check the chain of manifests."""
    from storage.manifest import verify_crawls
    from storage.stores import open_existing_store

    result = verify_crawls(open_existing_store(store), crawl_id)
    for problem in result.problems:
        click.echo(str(problem))
    if result.problems:
        click.echo(
            f"{len(result.problems)} problem(s) in {result.crawls} crawls, {result.files} files",
            err=True,
        )
        sys.exit(1)
    click.echo(f"ok: {result.crawls} crawls, {result.files} files verified")


@main.command()
@store_option
@click.option("--crawl", "crawl_ids", multiple=True, help="Only this crawl; repeatable.")
@click.option(
    "--staging",
    type=click.Path(file_okay=False),
    default=None,
    help="Staging folder (default: STAGING_DIR, else <store>/.staging or ~/.cache/scrubwatch/staging).",
)
@retain_days_option
@lock_mode_option
@one_line_errors
def push(
    store: str,
    crawl_ids: tuple[str, ...],
    staging: str | None,
    retain_days: int | None,
    lock_mode: str | None,
) -> None:
    """Put into the store what a crawl staged but could not upload, and its manifest."""
    from crawler.addon import default_staging_dir
    from storage import open_store
    from storage.push import push as push_staged

    opened = open_store(store, retain_days=retain_days, lock_mode=lock_mode or STORE_LOCK_MODE)
    opened.check_writable()
    root = Path(staging or STAGING_DIR or default_staging_dir(store))
    result = push_staged(opened, root, list(crawl_ids) or None)
    if not result.published and not result.failed:
        click.echo(f"nothing staged for store {opened.uri} in {root}")
    for done in result.published:
        click.echo(
            f"crawl {done.crawl_id}: {len(done.stored)} files stored, "
            f"{len(done.already_there)} already there, complete"
        )
    for crawl_id, error in result.failed.items():
        click.echo(f"crawl {crawl_id}: {error}", err=True)
    if result.failed:
        sys.exit(1)


@main.command()
@store_option
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--crawl", "crawl_ids", multiple=True, help="Only this crawl; repeatable.")
@click.option("--outlet", default=None, help="Only files holding captures of this outlet.")
@click.option(
    "--since", default=None, help="Crawls made at or after YYYY-MM-DD or an RFC 3339 time."
)
@click.option(
    "--what",
    type=click.Choice(["text", "warc", "all"]),
    default="text",
    show_default=True,
    help="text: dataset parts; warc: WARC files and indexes; all: everything.",
)
@one_line_errors
def pull(
    store: str,
    dest: str,
    crawl_ids: tuple[str, ...],
    outlet: str | None,
    since: str | None,
    what: str,
) -> None:
    """Copy complete crawls into DEST, each file checked against its manifest."""
    from storage.pull import parse_since
    from storage.pull import pull as pull_crawls
    from storage.stores import open_existing_store

    when = parse_since(since) if since else None
    opened = open_existing_store(store)
    with _quiet_keyboard_interrupt(), _progress_bar() as bar:
        result = pull_crawls(
            opened,
            Path(dest),
            crawls=list(crawl_ids) or None,
            outlet=outlet,
            since=when,
            what=what,
            progress=bar,
        )
    for crawl_id in result.incomplete:
        click.echo(f"left out crawl {crawl_id}: incomplete (no manifest)", err=True)
    click.echo(
        f"pulled {len(result.crawls)} crawls into {dest}: {len(result.downloaded)} files "
        f"downloaded, {len(result.skipped)} already there"
    )
    for problem in result.failed:
        click.echo(f"failed: {problem}", err=True)
    if result.failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
