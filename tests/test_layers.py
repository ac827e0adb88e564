"""The layers' import contracts (pyproject.toml, run by lint-imports in make test) hold, and
a back-edge planted into a copy of the code breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "pipelines", "history", "storage")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layers_hold_in_the_code_as_it_is(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "back_edge"),
    [
        ("storage/hashing.py", "import crawler.settings"),
        ("storage/layout.py", "import pipelines.staging"),
        ("pipelines/images.py", "import crawler.requisites"),
        ("pipelines/staging.py", "import history.textdiff"),
        ("history/textdiff.py", "import pipelines.images"),
        ("storage/hashing.py", "import scrapy"),
    ],
)
def test_a_planted_back_edge_breaks_a_contract(tmp_path: Path, module: str, back_edge: str) -> None:
    tree = _copy(tmp_path)
    target = tree / module
    target.write_text(target.read_text() + f"\n{back_edge}  # planted\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
