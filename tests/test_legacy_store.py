"""A store written before the dataset moved to datasets/ (tests/data/legacy-store) still reads.

Its crawls keep their dataset in ``crawls/<id>/text/`` and a re-extraction in
``crawls/<id>/_text-legacy/``; the readers fall back to them. The expected values are
those the demo that made the store printed (tests/data/legacy-store/README.md).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.settings import (
    DATASET_ROW_GROUP_BYTES,
    DATASET_ROW_GROUP_ROWS,
    DATASET_ROWS_PER_PART,
)
from history.snapshots import load_snapshot
from pipelines.datasetfile import PartSizes
from pipelines.reextract import reextract
from storage import open_store
from storage.catalog import list_crawls
from storage.layout import (
    dataset_part_keys,
    dataset_root,
    legacy_text_prefix,
    list_crawl_ids,
    text_key,
)
from storage.pull import pull
from storage.verify import verify_crawls
from tests.test_reextract import POOL

LEGACY = Path(__file__).parent / "data" / "legacy-store"
V1, V2 = "20261205T125642Z-v1", "20261205T125646Z-v2"
PHOTO = "http://127.0.0.5:33163/it/dong-jingwei.png"
PHOTO_SHA256 = "73ae36e8fa72aa43efeb0370f9153233254a53fe641d4f1baa7db3ca1a0cc7f2"
SEED = (
    "http://127.0.0.2:33163/2021/06/21/"
    "senior-chinese-counterintelligence-official-missing-due-to-rumored-u-s-defection/"
)
SCRUBBED = {
    ("page-redirected", "http://127.0.0.7:33163/Top_News/World-News/2021/06/21/"
     "china-Dong-Jingwei-defection-rumors/6541624287000/"),
    ("text-removed", "http://127.0.0.4:33163/2021/06/17/what-dong-jingwei-may-have-given-the-dia/"),
    ("image-removed", PHOTO),
    ("text-removed", "http://127.0.0.5:33163/search/index?tn=baiduimage&word=%E8%91%A3%E7%BB%8F%E7%BA%AC"),
    ("page-removed", "http://127.0.0.6:33163/news/world/breakingnews/3569513"),
}  # fmt: skip


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A copy of the legacy store, which a test may add to."""
    return Path(shutil.copytree(LEGACY / "crawls", tmp_path / "archive" / "crawls")).parent


def cli(*args: str) -> Any:
    done = CliRunner().invoke(main, list(args))
    assert done.exit_code == 0, done.output
    return done


def json_objects(text: str) -> list[Any]:
    """The objects a command printed: one JSON document, or one object a line."""
    try:
        whole = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return whole if isinstance(whole, list) else [whole]


def test_its_dataset_is_found_where_it_was_written(legacy: Path) -> None:
    store = open_store(str(legacy))
    assert list_crawl_ids(store) == [V1, V2]
    for crawl_id in (V1, V2):
        (key,) = dataset_part_keys(store, crawl_id)
        assert key == legacy_text_prefix(crawl_id) + "part-00000.parquet"
    rows = pq.read_table(legacy / dataset_part_keys(store, V1)[0]).to_pylist()
    assert {r["crawl_id"] for r in rows} == {V1} and any(r["url"] == SEED for r in rows)
    seed = load_snapshot(store, V1).pages[SEED]
    assert seed.final_status == 200 and "Dong" in seed.text and seed.images


def test_verify_crawls_and_catalog(legacy: Path) -> None:
    store = open_store(str(legacy))
    checked = verify_crawls(store)
    assert (checked.crawls, checked.files, checked.problems) == (2, 18, [])
    assert cli("verify", "--store", str(legacy)).stdout == "ok: 2 crawls, 18 files verified\n"
    crawls = list_crawls(store)
    assert [(c.crawl_id, c.complete, c.files) for c in crawls] == [(V1, True, 9), (V2, True, 9)]


def test_diff_timeline_and_get(legacy: Path, tmp_path: Path) -> None:
    (diff,) = json_objects(
        cli("diff", "--store", str(legacy), "--from", V1, "--to", V2, "--json").stdout
    )
    assert {(s["kind"], s["url"]) for s in diff["scrubbed"]} == SCRUBBED
    assert {s["archived_in"] for s in diff["scrubbed"]} == {V1}
    edited = next(p for p in diff["pages"] if p["url"] == SEED)
    assert edited["change"] in ("changed", "unchanged")
    captures = json_objects(cli("timeline", "--store", str(legacy), PHOTO, "--json").stdout)
    assert [c["crawl_id"] for c in captures] == [V1, V2]
    photo = tmp_path / "photo.png"
    cli("get", "--store", str(legacy), PHOTO, "-o", str(photo))
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == PHOTO_SHA256


def test_pull_takes_its_dataset_folders(legacy: Path, tmp_path: Path) -> None:
    store = open_store(str(legacy))
    dest = tmp_path / "dest"
    result = pull(store, dest)
    assert result.crawls == [V1, V2] and result.failed == []
    texts = {
        legacy_text_prefix(c) + f"part-00000.{ext}"
        for c in (V1, V2)
        for ext in ("parquet", "jsonl.gz")
    }
    assert texts <= set(result.downloaded)
    assert not [k for k in result.downloaded if "/warc/" in k or "_text-" in k]
    frame = pd.concat(pd.read_parquet(dest / k) for k in sorted(texts) if k.endswith(".parquet"))
    assert frame.groupby("crawl_id").size().to_dict() == {V1: 9, V2: 10}
    photo = pull(store, tmp_path / "outlet", outlet="localweb-baidu", what="all", crawls=[V1])
    assert any(k.endswith(".warc.gz") for k in photo.downloaded) and photo.failed == []


def test_a_new_version_of_an_old_crawl_goes_to_the_new_layout(legacy: Path) -> None:
    store = open_store(str(legacy))
    sizes = PartSizes(DATASET_ROWS_PER_PART, DATASET_ROW_GROUP_ROWS, DATASET_ROW_GROUP_BYTES)
    with pytest.raises(ValueError, match="already exists"):
        reextract(store, V1, sizes=sizes, workers=1, version="legacy", **POOL)
    result = reextract(store, V1, sizes=sizes, workers=1, version="again", **POOL)
    assert result.rows == 9
    assert store.exists(text_key(V1, "part-00000.parquet", version="again"))
    frame = pd.read_parquet(legacy / dataset_root(version="again"))
    assert frame["crawl_id"].astype(str).tolist() == [V1] * 9


def test_a_store_with_crawls_of_both_layouts_diffs_across_them(legacy: Path) -> None:
    """A crawl stored by this version after crawls stored by an earlier one."""
    old = legacy / legacy_text_prefix(V2) / "part-00000.parquet"
    new = legacy / text_key(V2, "part-00000.parquet")
    new.parent.mkdir(parents=True)
    pq.write_table(pq.read_table(old).drop_columns(["crawl_id"]), new)
    shutil.rmtree(old.parent)
    store = open_store(str(legacy))
    assert dataset_part_keys(store, V2) == [text_key(V2, "part-00000.parquet")]
    (diff,) = json_objects(
        cli("diff", "--store", str(legacy), "--from", V1, "--to", V2, "--json").stdout
    )
    assert {(s["kind"], s["url"]) for s in diff["scrubbed"]} == SCRUBBED
