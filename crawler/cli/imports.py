"""``scrubwatch import``: earlier captures of what seeds cite, from a public web archive."""

from __future__ import annotations

import click

from crawler.cli.base import main, one_line_errors, outlets_option, quiet_keyboard_interrupt
from crawler.cli.crawling import set_option


@main.command(name="import")
@click.argument("seeds", nargs=-1, required=True)
@click.option(
    "--store", default="./archive", show_default=True, help="Folder, file:// or s3://bucket/prefix."
)
@click.option("--crawl-id", default=None, help="Default: the UTC start time, YYYYMMDDTHHMMSSZ.")
@click.option(
    "--from",
    "source",
    default="wayback",
    show_default=True,
    metavar="wayback|memento|URL",
    help="The archive: wayback (CDX server ARCHIVE_CDX_URL), memento (TimeMaps of "
    "ARCHIVE_TIMEMAP_URL), or a CDX server's or TimeMap endpoint's URL (a pywb "
    "collection's http://HOST/COLL/cdx).",
)
@click.option("--since", default=None, metavar="DATE", help="Captures from DATE (YYYY-MM-DD...).")
@click.option("--until", default=None, metavar="DATE", help="Captures up to DATE.")
@set_option
@outlets_option
@one_line_errors
def import_(
    seeds: tuple[str, ...],
    store: str,
    crawl_id: str | None,
    source: str,
    since: str | None,
    until: str | None,
    overrides: tuple[str, ...],
    outlets: tuple[str, ...],
) -> None:
    """Import a public archive's captures of what the SEEDS cite, as a crawl of the store."""
    from crawler.cli.crawling import scrapy_settings
    from crawler.importing import run_import

    settings = scrapy_settings(overrides, "WARNING")
    with quiet_keyboard_interrupt():
        summary = run_import(
            list(seeds),
            store,
            crawl_id=crawl_id,
            source=source,
            since=since,
            until=until,
            outlets=list(outlets),
            overrides=settings,
        )
    for line in summary.lines():
        click.echo(line)
