"""``scrubwatch replay``: archived pages opened as they looked, in ReplayWeb.page."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from crawler.cli.base import main, one_line_errors, quiet_keyboard_interrupt, store_option
from crawler.settings import REPLAYWEBPAGE_CACHE, REPLAYWEBPAGE_VERSION


@main.command()
@click.argument("package", required=False, type=click.Path(exists=True, dir_okay=False))
@store_option
@click.option(
    "--crawl",
    "crawl_ids",
    multiple=True,
    help="Replay this crawl of the store; repeatable (default: the latest).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free).")
@click.option(
    "--fetch-viewer",
    is_flag=True,
    help="Only fetch ReplayWeb.page's viewer into its cache (npm), then exit.",
)
@one_line_errors
def replay(
    package: str | None,
    store: str,
    crawl_ids: tuple[str, ...],
    port: int,
    fetch_viewer: bool,
) -> None:
    """Serve a WACZ PACKAGE, or crawls of the store, and ReplayWeb.page on 127.0.0.1.

    ReplayWeb.page (AGPL-3.0) is fetched from npm into a cache at first use.
    """
    from crawler.replayserver import ReplayServer
    from crawler.replaywebpage import viewer_dir

    viewer = viewer_dir(
        Path(REPLAYWEBPAGE_CACHE) if REPLAYWEBPAGE_CACHE else None, REPLAYWEBPAGE_VERSION
    )
    if fetch_viewer:
        click.echo(f"ReplayWeb.page {REPLAYWEBPAGE_VERSION} is in {viewer}")
        return
    with tempfile.TemporaryDirectory(prefix="scrubwatch-replay-") as tmp:
        path = Path(package) if package else _export(store, crawl_ids, Path(tmp))
        server = ReplayServer(path, viewer, port)
        click.echo(f"replaying {path} with ReplayWeb.page {REPLAYWEBPAGE_VERSION}")
        click.echo(f"open {server.url}  (Ctrl-C stops)")
        with quiet_keyboard_interrupt():
            try:
                server.serve_forever()
            finally:
                server.server_close()


def _export(store: str, crawl_ids: tuple[str, ...], folder: Path) -> Path:
    from crawler.cli.wacz import SOFTWARE
    from storage.stores import open_existing_store
    from storage.waczexport import export_crawls

    opened = open_existing_store(store)
    out = folder / "replay.wacz"
    result = export_crawls(opened, crawl_ids, out, software=SOFTWARE)
    click.echo(f"packaged crawl(s) {', '.join(result.crawls)} of {opened.uri}", err=True)
    return out
