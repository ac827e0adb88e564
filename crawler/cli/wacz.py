"""Commands that package crawls for others: ``export`` (a WACZ file) and ``verify --wacz``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crawler import __version__
from crawler.cli.base import main, one_line_errors, store_option

SOFTWARE = f"scrubwatch {__version__}"


@main.command()
@store_option
@click.option(
    "--crawl",
    "crawl_ids",
    multiple=True,
    help="A crawl to package; repeatable (default: the latest crawl).",
)
@click.option(
    "--url",
    "urls",
    multiple=True,
    help="Only the captures of this URL (and its screenshot and DOM); repeatable.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The package to write (FILE.wacz).",
)
@click.option(
    "--sign",
    "key_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Sign the package with this ECDSA P-256/P-384 private key (PEM).",
)
@click.option("--title", default=None, help="The package's title (default: names the crawls).")
@one_line_errors
def export(
    store: str,
    crawl_ids: tuple[str, ...],
    urls: tuple[str, ...],
    output: str,
    key_path: str | None,
    title: str | None,
) -> None:
    """Package crawls as a WACZ file that replays on its own (ReplayWeb.page, pywb)."""
    from storage.errors import BadInput
    from storage.stores import open_existing_store
    from storage.waczexport import export_crawls
    from storage.waczsign import Signer

    if not output.endswith(".wacz"):
        raise BadInput(f"-o {output}: a WACZ file's name ends in .wacz")
    opened = open_existing_store(store)
    signer = Signer.from_pem(Path(key_path), SOFTWARE) if key_path else None
    result = export_crawls(
        opened, crawl_ids, Path(output), software=SOFTWARE, urls=urls, signer=signer, title=title
    )
    originals = (
        f", {result.originals} original record(s) copied in from {', '.join(result.original_crawls)}"
        if result.originals
        else ""
    )
    click.echo(
        f"{output}: {len(result.crawls)} crawl(s), {result.captures} captures, {result.pages} "
        f"pages{originals}; {result.bytes:,} bytes{', signed' if result.signed else ''}"
    )
    for digest in result.unresolved:
        click.echo(f"warning: no original archived for revisits of {digest}", err=True)


def verify_wacz_files(paths: tuple[str, ...]) -> None:
    """``scrubwatch verify --wacz``: exit 1 if any package has a problem."""
    from storage.waczverify import verify_wacz

    broken = 0
    for name in paths:
        check = verify_wacz(Path(name))
        for problem in check.problems:
            click.echo(f"{name}: {problem}")
        if check.problems:
            broken += 1
            continue
        signed = "signed" if check.signed else "unsigned"
        click.echo(
            f"{name}: ok, {check.files} files, {check.records} records, {check.pages} pages, {signed}"
        )
    sys.exit(1 if broken else 0)
