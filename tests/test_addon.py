"""The crawl identity add-on: where a crawl's files wait before they are stored."""

from __future__ import annotations

from pathlib import Path

from crawler.addon import default_staging_dir


def test_a_local_store_stages_inside_itself(tmp_path: Path) -> None:
    assert default_staging_dir(str(tmp_path / "a")) == tmp_path / "a" / ".staging"


def test_each_s3_store_has_a_staging_folder_of_its_own() -> None:
    one = default_staging_dir("s3://bucket/archive")
    assert default_staging_dir("s3://bucket/archive/") == one  # the same store
    others = {default_staging_dir(u) for u in ("s3://bucket/other", "s3://b2/archive")}
    others.add(default_staging_dir("s3://bucket/archive/../x"))
    assert one not in others and len(others) == 3
    assert all(p.parent == Path.home() / ".cache/scrubwatch/staging" for p in {one, *others})
    assert ".." not in one.name and "/" not in one.name
