"""Commands over a store's crawls: ``crawls``, ``verify``, ``push``, ``pull``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler.cli.base import (
    echo_json_line,
    lock_mode_option,
    main,
    one_line_errors,
    progress_bar,
    quiet_keyboard_interrupt,
    retain_days_option,
    store_option,
)
from crawler.settings import STAGING_DIR, STORE_LOCK_MODE
from storage.errors import BadInput, one_line


@main.command()
@store_option
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object a crawl.")
@one_line_errors
def crawls(store: str, as_json: bool) -> None:
    """List the crawls in the store: time, seeds, pages, files, bytes, complete or not."""
    from storage.catalog import list_crawls
    from storage.stores import open_existing_store

    opened = open_existing_store(store)
    entries = list_crawls(opened)
    if as_json:
        for entry in entries:
            echo_json_line(entry.to_dict())
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
        if e.imported_from:
            click.echo(f"{'':20} imported from {e.imported_from}")
        if e.note:
            click.echo(f"{'':20} {e.note}")


@main.command()
@store_option
@click.option("--crawl", "crawl_id", default=None, help="Only this crawl (default: every crawl).")
@click.option(
    "--warc",
    "warc_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Check these WARC files instead of a store; repeatable.",
)
@click.option(
    "--wacz",
    "wacz_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Check these WACZ packages strictly instead of a store; repeatable.",
)
@one_line_errors
def verify(
    store: str, crawl_id: str | None, warc_files: tuple[str, ...], wacz_files: tuple[str, ...]
) -> None:
    """Re-hash and check every stored file against its manifest, and the chain of manifests."""
    if wacz_files:
        from crawler.cli.wacz import verify_wacz_files

        verify_wacz_files(wacz_files)
    from storage.stores import open_existing_store
    from storage.verify import verify_crawls
    from storage.warcverify import check_warc

    if warc_files:
        broken = 0
        for name in warc_files:
            try:
                with open(name, "rb") as fh:
                    check = check_warc(iter(lambda: fh.read(1 << 20), b""))
            except OSError as exc:
                raise BadInput(f"cannot read {name}: {one_line(exc)}") from exc
            for message in check.problems:
                click.echo(f"{name}: {message}")
            broken += bool(check.problems)
            if not check.problems:
                click.echo(f"{name}: ok, {check.records} records")
        sys.exit(1 if broken else 0)
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
    help="Staging folder (default: STAGING_DIR, else <store>/.staging or ~/.cache/scrubwatch/staging/<store>).",
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
    from storage import open_store
    from storage.layout import default_staging_dir
    from storage.push import push as push_staged

    opened = open_store(store, retain_days=retain_days, lock_mode=lock_mode or STORE_LOCK_MODE)
    opened.check_writable()
    root = Path(staging or STAGING_DIR or default_staging_dir(opened))
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
    with quiet_keyboard_interrupt(), progress_bar() as bar:
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


@main.command()
@store_option
@click.option("--crawl", "crawl_id", required=True, help="The crawl to extract again.")
@click.option("--version", default=None, help="Name of the new dataset version (default: now).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: one per core).",
)
@click.option(
    "--fast",
    is_flag=True,
    help="trafilatura's fast mode: no fallback extractors (less CPU, a few pages lose text).",
)
@one_line_errors
def extract(
    store: str, crawl_id: str, version: str | None, workers: int | None, fast: bool
) -> None:
    """Extract text again from a crawl's stored WARCs into a new dataset version."""
    from crawler.settings import (
        DATASET_ROW_GROUP_BYTES,
        DATASET_ROW_GROUP_ROWS,
        DATASET_ROWS_PER_PART,
        EXTRACT_MAX_BYTES,
        EXTRACT_TIMEOUT,
        MEMORY_TRIM_INTERVAL,
    )
    from pipelines.datasetfile import PartSizes
    from pipelines.reextract import reextract
    from storage.stores import open_existing_store

    with quiet_keyboard_interrupt():
        result = reextract(
            open_existing_store(store),
            crawl_id,
            sizes=PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES),
            workers=workers,
            version=version,
            timeout=EXTRACT_TIMEOUT,
            max_bytes=EXTRACT_MAX_BYTES,
            trim_interval=MEMORY_TRIM_INTERVAL,
            fast=fast,
        )
    counts = ", ".join(f"{status}: {n}" for status, n in sorted(result.counts.items()))
    click.echo(
        f"crawl {crawl_id}: {result.rows} pages extracted in {result.seconds:.1f}s ({counts}); "
        f"dataset version {result.version} stored under {result.prefix}"
    )
