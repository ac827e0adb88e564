"""``scrubwatch notify``: send the scrub message of two crawls to apprise URLs by hand."""

from __future__ import annotations

import sys

import click

from crawler.cli.base import main, one_line_errors, store_option


@main.command()
@store_option
@click.option("--from", "from_id", required=True, help="The earlier crawl.")
@click.option("--to", "to_id", required=True, help="The later crawl.")
@click.option("--report", default=None, help="A report's path or URL to name in the message.")
@click.option("--always", is_flag=True, help="Send even when nothing was scrubbed (says so).")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@one_line_errors
def notify(
    store: str,
    from_id: str,
    to_id: str,
    report: str | None,
    always: bool,
    urls: tuple[str, ...],
) -> None:
    """Send what was scrubbed between two crawls to apprise URLs (mailto://, json://...)."""
    from crawler.alerts import check_urls, notify_diff
    from storage.stores import open_existing_store

    check_urls(urls)
    delivery = notify_diff(
        open_existing_store(store), from_id, to_id, urls, report=report, always=always
    )
    if delivery is None:
        click.echo(f"nothing scrubbed between {from_id} and {to_id}: no message sent")
        return
    click.echo(f"sent to {delivery.sent} of {len(urls)} URL(s)")
    for label in delivery.failed:
        click.echo(f"  not delivered: {label}", err=True)
    if delivery.failed:
        sys.exit(1)
