"""``scrubwatch demo``: the main job on the embedded default.

Serves the local replay of the cited web on loopback addresses, crawls its seed
article into a local store (``--allow-private``, since it is on loopback), and
prints the crawl summary. Each crawl runs in its own process, as a user's would.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from crawler.crawl import CrawlError
from crawler.localweb import LocalWeb


def crawl_command(seed: str, store: str, registry: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler",
        "crawl",
        seed,
        "--store",
        store,
        "--allow-private",
        "--outlets",
        str(registry),
        *extra,
    ]


def run_demo(store: str, *, port: int = 0, echo: Callable[[str], object] = print) -> None:
    with tempfile.TemporaryDirectory(prefix="scrubwatch-demo-") as tmp, LocalWeb(port=port) as web:
        registry = web.write_registry(Path(tmp) / "localweb-outlets.toml")
        echo(f"local cited web on loopback, seed article: {web.seed_url}")
        done = subprocess.run(crawl_command(web.seed_url, store, registry), check=False)
        if done.returncode != 0:
            raise CrawlError(f"demo crawl failed with exit status {done.returncode}")
