"""ReplayWeb.page's viewer files (``ui.js``, ``sw.js``), fetched from npm into a cache.

ReplayWeb.page is AGPL-3.0: scrubwatch does not ship it. :func:`viewer_dir` gives the
cache folder of one version (``<cache>/<version>/``, with its ``LICENSE``), fetching the
package with npm's own client (``npm pack replaywebpage@<version>``) the first time;
where npm or its registry cannot be reached, a one-line error says how to get the
files in place by hand. Settings: ``REPLAYWEBPAGE_VERSION``, ``REPLAYWEBPAGE_CACHE``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from storage.errors import BadInput, one_line

logger = logging.getLogger(__name__)

PACKAGE = "replaywebpage"
FILES = ("ui.js", "sw.js", "LICENSE")
NPM_TIMEOUT = 300


def default_cache() -> Path:
    return Path.home() / ".cache" / "scrubwatch" / PACKAGE


def cached(cache: Path, version: str) -> Path | None:
    """The folder of ``version`` in ``cache`` if it holds every file, else None."""
    folder = cache / version
    return folder if all((folder / name).is_file() for name in FILES) else None


def _by_hand(folder: Path, version: str) -> str:
    return (
        f"run `npm pack {PACKAGE}@{version}` where npm's registry is reachable and put "
        f"package/ui.js, package/sw.js and package/LICENSE from it into {folder}"
    )


def fetch_viewer(cache: Path, version: str) -> Path:
    """Fetch ReplayWeb.page ``version`` with npm into ``cache``; its folder."""
    folder = cache / version
    npm = shutil.which("npm")
    if npm is None:
        raise BadInput(
            f"ReplayWeb.page {version} is not cached and npm is not installed: "
            + _by_hand(folder, version)
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
        logger.info("fetching %s@%s with npm into %s", PACKAGE, version, folder)
        done = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{version}", "--pack-destination", tmp, "--silent"],
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            why = one_line(
                Exception(done.stderr.strip()[-500:] or f"exit status {done.returncode}")
            )
            raise BadInput(
                f"cannot fetch ReplayWeb.page {version} from npm ({why}): "
                + _by_hand(folder, version)
            )
        staged = Path(tmp) / "files"
        staged.mkdir()
        with tarfile.open(tarballs[0]) as tar:
            for name in FILES:
                member = tar.extractfile(f"package/{name}")
                if member is None:
                    raise BadInput(f"npm package {PACKAGE}@{version} has no {name}")
                (staged / name).write_bytes(member.read())
        if folder.exists():
            shutil.rmtree(folder)
        staged.rename(folder)
    return folder


def viewer_dir(cache: Path | None, version: str) -> Path:
    """The folder holding ReplayWeb.page ``version``'s files, fetched if not cached."""
    root = cache or default_cache()
    return cached(root, version) or fetch_viewer(root, version)
