"""Commands over a page's history: ``timeline``, ``get``, ``diff``."""

from __future__ import annotations

import sys

import click

from crawler.cli.base import (
    echo_json_document,
    echo_json_line,
    main,
    one_line_errors,
    store_option,
    write_file,
)
from storage import StoreError


@main.command()
@store_option
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object a capture.")
@one_line_errors
def timeline(store: str, url: str, as_json: bool) -> None:
    """Every capture of URL across the store's crawls, and whether it changed."""
    from history.timeline import timeline as url_timeline
    from storage.stores import open_existing_store

    entries = url_timeline(open_existing_store(store), url)
    if not entries:
        raise StoreError(f"no capture of {url} in store {store}")
    for e in entries:
        if as_json:
            echo_json_line(e.to_dict())
            continue
        change = {None: "first", True: "changed", False: "same"}[e.changed]
        kind = "revisit" if e.revisit else "response"
        source = f"  from {e.imported_from}" if e.imported_from else ""
        click.echo(
            f"{e.crawl_id:24} {e.time} {e.status or '-':>4} {change:8} {kind:8} {e.digest}{source}"
        )


@main.command()
@store_option
@click.argument("url")
@click.option("--crawl", "crawl_id", default=None, help="The capture in this crawl.")
@click.option("--at", default=None, help="The latest capture at or before this time.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here, not stdout.")
@one_line_errors
def get(store: str, url: str, crawl_id: str | None, at: str | None, output: str | None) -> None:
    """The archived bytes of URL (content-encoding undone; revisits followed).

    A rendered page's screenshot is URL urn:view:<page url>, its rendered DOM
    urn:dom:<page url>.
    """
    from history.timeline import get_payload
    from storage.stores import open_existing_store

    capture, body = get_payload(open_existing_store(store), url, crawl_id=crawl_id, at=at)
    if output:
        write_file(output, body)
        if capture.status is not None:
            what = f"status {capture.status}"
        else:  # a screenshot or DOM; an unchanged one is a revisit of the first
            what = "unchanged, a revisit" if capture.is_revisit else capture.mime
        click.echo(
            f"{len(body)} bytes of {capture.url} from crawl {capture.crawl_id} "
            f"({what}) written to {output}",
            err=True,
        )
    else:
        sys.stdout.buffer.write(body)


@main.command()
@store_option
@click.option(
    "--from", "from_id", default=None, help="Earlier crawl (default: the one before --to)."
)
@click.option("--to", "to_id", default=None, help="Later crawl (default: the latest).")
@click.option("--url", default=None, help="Only this page.")
@click.option("--json", "as_json", is_flag=True, help="The whole diff as one JSON document.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Write an HTML report.")
@click.option("--ranks", is_flag=True, help="Also list search results whose rank changed.")
@click.option(
    "--replay-base",
    default=None,
    metavar="URL",
    help="Link each scrubbed item in the HTML report to its replay (the URL scrubwatch replay prints).",
)
@one_line_errors
def diff(
    store: str,
    from_id: str | None,
    to_id: str | None,
    url: str | None,
    as_json: bool,
    html_path: str | None,
    ranks: bool,
    replay_base: str | None,
) -> None:
    """What changed between two crawls, and what was scrubbed."""
    from history.diff import diff_crawls
    from history.report import render_report
    from history.searchresult import search_summary
    from storage.captures import CaptureIndex
    from storage.stores import open_existing_store

    opened = open_existing_store(store)
    index = CaptureIndex(opened)
    result = diff_crawls(opened, from_id, to_id, url=url, index=index, ranks=ranks)
    if html_path:
        write_file(
            html_path, render_report(opened, result, index, replay_base=replay_base).encode()
        )
        click.echo(f"report written to {html_path}", err=True)
    if as_json:
        echo_json_document(result.to_dict())
        return
    summary = ", ".join(f"{n} {change}" for change, n in sorted(result.counts().items()))
    click.echo(f"{result.from_id} -> {result.to_id}: {summary or 'no pages'}")
    for item in result.scrubbed:
        why = f"{item.why} by {item.by}" if item.by else item.why
        where = f"{why}; archived in" if why else "archived in"
        click.echo(f"  {item.kind:16} {item.url}  ({where} {item.archived_in})")
    for search in result.searches:
        click.echo(f"  search {search.engine} {search.query!r}: {search_summary(search)}")
