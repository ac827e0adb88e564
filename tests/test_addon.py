"""The crawl's add-ons: its identity, and where its files wait before they are stored."""

from __future__ import annotations

from pathlib import Path

from scrapy.settings import Settings

from crawler.addon import CrawlIdentity, SharedFrontier
from storage import open_store
from storage.layout import default_staging_dir


def staging_of(store_uri: str) -> Path:
    return default_staging_dir(open_store(store_uri))


def test_a_local_store_stages_inside_itself(tmp_path: Path) -> None:
    assert staging_of(str(tmp_path / "a")) == tmp_path / "a" / ".staging"


def test_each_s3_store_has_a_staging_folder_of_its_own() -> None:
    one = staging_of("s3://bucket/archive")
    assert staging_of("s3://bucket/archive/") == one  # the same store
    others = {staging_of(u) for u in ("s3://bucket/other", "s3://b2/archive")}
    others.add(staging_of("s3://bucket/archive/../x"))
    assert one not in others and len(others) == 3
    assert all(p.parent == Path.home() / ".cache/scrubwatch/staging" for p in {one, *others})
    assert ".." not in one.name and "/" not in one.name


def test_the_identity_and_the_staging_folder_are_resolved_once(tmp_path: Path) -> None:
    settings = Settings({"STORE_URI": str(tmp_path / "a"), "CRAWL_ID": "c1"})
    CrawlIdentity().update_settings(settings)
    assert settings.get("STAGING_DIR") == str(tmp_path / "a" / ".staging")
    assert settings.get("CRAWL_ID") == "c1"
    given = Settings({"STORE_URI": str(tmp_path / "a"), "STAGING_DIR": str(tmp_path / "s")})
    CrawlIdentity().update_settings(given)
    assert given.get("STAGING_DIR") == str(tmp_path / "s") and given.get("CRAWL_ID")


def test_each_worker_of_a_shared_crawl_stages_in_a_folder_of_its_own(tmp_path: Path) -> None:
    settings = Settings(
        {
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "FRONTIER_ROLE": "worker",
            "WORKER_ID": "host-42",
            "STAGING_DIR": str(tmp_path / "s"),
            "EXTENSIONS": {"pipelines.publish.PublishCrawl": 900},
        }
    )
    SharedFrontier().update_settings(settings)
    assert settings.get("STAGING_DIR") == str(tmp_path / "s" / "host-42")
    assert settings.get("WORKER_ID") == "host-42"
