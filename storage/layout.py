"""Where everything lives in a store: the one module that knows keys and staged paths.

A store holds one folder per crawl, and the datasets made from them::

    crawls/<crawl id>/manifest.json
    crawls/<crawl id>/crawl-info.json
    crawls/<crawl id>/crawl-log.jsonl.gz
    crawls/<crawl id>/warc/<file>.warc.gz
    crawls/<crawl id>/indexes/index.cdxj.gz, index.idx, index.loc  (ZipNum CDXJ)
    crawls/<crawl id>/indexes/digests.jsonl.gz
    datasets/text/crawl_id=<crawl id>/part-NNNNN.parquet
    datasets/text-jsonl/crawl_id=<crawl id>/part-NNNNN.jsonl.gz
    datasets/search_results/crawl_id=<crawl id>/part-NNNNN.parquet  (and -jsonl/)
    reports/<crawl id>--<crawl id>.html  (the scrub report ``scrubwatch demo`` leaves)

The Parquet parts sit alone under a root of their own, Hive-partitioned by crawl, so
that one call with no options reads every crawl, ``crawl_id`` coming from the folder
names: ``pd.read_parquet("<store>/datasets/text")``. A re-extracted version of a
crawl's dataset (:mod:`pipelines.reextract`) has roots of its own, named after the
version, ``datasets/text@<version>/`` and ``datasets/text-jsonl@<version>/``, so that
reading ``datasets/text`` never meets a page twice; its manifest is
``crawls/<crawl id>/text@<version>.manifest.json``. A crawl's manifest lists its
dataset parts with its other files (:func:`crawl_prefixes`). Crawls stored by earlier
versions hold their dataset in ``crawls/<crawl id>/text/`` (and versions in
``crawls/<crawl id>/_text-<version>/``): readers take it when the new place is empty
(:func:`dataset_part_keys`).

A staging folder mirrors that layout while a crawl runs (:func:`local_path`); files still
being written end in ``.open`` (:func:`open_path`) and are not published. In a crawl
shared by several workers (see ``crawler.frontier``) each worker stages in a folder of
its own (:func:`worker_staging`) and names its own copy of a file the crawl would
otherwise hold once: ``crawl-log.<worker>.jsonl.gz``, ``indexes/index.<worker>.cdxj.gz``,
``part-<worker>-NNNNN.parquet``; readers take the file and every worker's copy
(:func:`copies_of`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import InvalidName

if TYPE_CHECKING:
    from collections.abc import Iterable

    from storage.stores import Store

CRAWLS = "crawls"
DATASETS = "datasets"
WARC_FOLDER = "warc"
INDEX_FOLDER = "indexes"
#: the text dataset's Parquet root and its JSON Lines copy's, under DATASETS
TEXT_DATASET = "text"
TEXT_JSONL_DATASET = "text-jsonl"
#: the search results dataset's Parquet root and its JSON Lines copy's, under DATASETS
SEARCH_DATASET = "search_results"
SEARCH_JSONL_DATASET = "search_results-jsonl"
#: the Hive partition column of every dataset: ``crawl_id=<crawl id>`` folders
PARTITION = "crawl_id"
#: the dataset's folder inside a crawl's, in stores written by earlier versions
LEGACY_TEXT_FOLDER = "text"
REPORTS = "reports"
EXPORTS = "exports"
# Default staging folder inside a local store; LocalStore.list() never shows it.
STAGING_DIRNAME = ".staging"
#: where the staging folders of remote stores go, one per store, under the home folder
REMOTE_STAGING = Path(".cache", "scrubwatch", "staging")
#: a staging folder's files that a resumed crawl keeps but never publishes, per crawl
SET_ASIDE = "set-aside"
OPEN_SUFFIX = ".open"
INFO_NAME = "crawl-info.json"
MANIFEST_NAME = "manifest.json"
LOG_NAME = "crawl-log.jsonl.gz"  # read and written by storage.crawllog
PLAIN_LOG_NAME = "crawl-log.jsonl"  # the crawl log of crawls stored before it was compressed
DIGESTS_NAME = "digests.jsonl.gz"  # read and written by storage.digests
#: staged beside a crawl's files while it runs (``.open``: never published)
ARGS_NAME = "crawl-args.json" + OPEN_SUFFIX
LOCK_NAME = "crawl.lock" + OPEN_SUFFIX

_CRAWL_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_WORKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}")


def validate_crawl_id(crawl_id: str) -> str:
    """Return ``crawl_id`` if it is 1-64 of ``[A-Za-z0-9._-]`` not starting with '.'."""
    if not _CRAWL_ID.fullmatch(crawl_id) or crawl_id.startswith("."):
        raise InvalidName(
            f"invalid crawl id {crawl_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return crawl_id


def validate_worker(worker: str) -> str:
    """Return ``worker`` if it is 1-100 of ``[A-Za-z0-9.-]`` starting with a letter or digit."""
    if not _WORKER.fullmatch(worker):
        raise InvalidName(
            f"invalid worker id {worker!r}: use 1-100 letters, digits, '.' or '-', "
            "starting with a letter or a digit"
        )
    return worker


def new_crawl_id(now: datetime) -> str:
    """The crawl id for a crawl started at ``now`` (timezone-aware): ``YYYYMMDDTHHMMSSZ``."""
    if now.tzinfo is None:
        raise ValueError("new_crawl_id needs a timezone-aware datetime")
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def check_key(key: str) -> str:
    """Return ``key`` if it is a relative '/'-separated store key without '.' or '..' parts."""
    parts = key.split("/")
    if not key or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise InvalidName(f"invalid store key {key!r}: use relative '/'-separated names")
    return key


def _check_filename(filename: str) -> str:
    if "/" in filename:
        raise InvalidName(f"invalid file name {filename!r}: it must not contain '/'")
    return check_key(filename)


def crawl_prefix(crawl_id: str) -> str:
    """Prefix of every key of one crawl's folder, ending in '/'."""
    return f"{CRAWLS}/{validate_crawl_id(crawl_id)}/"


def crawl_key(crawl_id: str, name: str) -> str:
    """The key of the file ``name`` at the top of the crawl's folder."""
    return f"{crawl_prefix(crawl_id)}{_check_filename(name)}"


def warc_prefix(crawl_id: str) -> str:
    return f"{crawl_prefix(crawl_id)}{WARC_FOLDER}/"


def warc_key(crawl_id: str, filename: str) -> str:
    return f"{warc_prefix(crawl_id)}{_check_filename(filename)}"


def crawl_log_key(crawl_id: str, worker: str | None = None) -> str:
    return crawl_key(crawl_id, worker_file(LOG_NAME, worker))


def plain_crawl_log_key(crawl_id: str) -> str:
    """The crawl log of a crawl stored before it was compressed."""
    return crawl_key(crawl_id, PLAIN_LOG_NAME)


def info_key(crawl_id: str, worker: str | None = None) -> str:
    return crawl_key(crawl_id, worker_file(INFO_NAME, worker))


def manifest_key(crawl_id: str) -> str:
    return crawl_key(crawl_id, MANIFEST_NAME)


#: the crawl's CDXJ index (a ZipNum data file, see storage.cdxj), and the plain CDXJ
#: index of crawls stored by earlier versions
INDEX_NAME = "index.cdxj.gz"
PLAIN_INDEX_NAME = "index.cdxj"


def index_key(crawl_id: str, name: str = INDEX_NAME) -> str:
    return f"{crawl_prefix(crawl_id)}{INDEX_FOLDER}/{_check_filename(name)}"


def digests_key(crawl_id: str, worker: str | None = None) -> str:
    """The crawl's digest log (``storage.digests``), or one worker's copy of it."""
    return index_key(crawl_id, worker_file(DIGESTS_NAME, worker))


_VERSION = re.compile(r"[A-Za-z0-9._-]{1,64}")


def validate_version(version: str) -> str:
    """Return ``version`` if it is 1-64 of ``[A-Za-z0-9._-]`` not starting with '.'."""
    if not _VERSION.fullmatch(version) or version.startswith("."):
        raise ValueError(f"invalid version {version!r}: use 1-64 of [A-Za-z0-9._-]")
    return version


def dataset_root(*, jsonl: bool = False, version: str | None = None) -> str:
    """The text dataset's Parquet root (its JSON Lines copy's with ``jsonl``), no '/' at
    the end: ``datasets/text``; a re-extracted ``version`` has its own, ``datasets/text@<version>``."""
    name = TEXT_JSONL_DATASET if jsonl else TEXT_DATASET
    if version is not None:
        name = f"{name}@{validate_version(version)}"
    return f"{DATASETS}/{name}"


def dataset_prefix(crawl_id: str, *, jsonl: bool = False, version: str | None = None) -> str:
    """Prefix of the crawl's Hive partition of a dataset root, ending in '/'."""
    root = dataset_root(jsonl=jsonl, version=version)
    return f"{root}/{PARTITION}={validate_crawl_id(crawl_id)}/"


def search_root(*, jsonl: bool = False) -> str:
    """The search results dataset's Parquet root (its JSON Lines copy's with ``jsonl``):
    ``datasets/search_results``."""
    return f"{DATASETS}/{SEARCH_JSONL_DATASET if jsonl else SEARCH_DATASET}"


def search_prefix(crawl_id: str, *, jsonl: bool = False) -> str:
    """Prefix of the crawl's Hive partition of the search results dataset, ending in '/'."""
    return f"{search_root(jsonl=jsonl)}/{PARTITION}={validate_crawl_id(crawl_id)}/"


def search_part_keys(store: Store, crawl_id: str) -> list[str]:
    """Keys of the crawl's Parquet parts of the search results dataset, sorted."""
    return sorted(k for k in store.list(search_prefix(crawl_id)) if k.endswith(".parquet"))


def text_key(crawl_id: str, filename: str, *, version: str | None = None) -> str:
    """A Parquet part of the crawl's text dataset."""
    return f"{dataset_prefix(crawl_id, version=version)}{_check_filename(filename)}"


def text_jsonl_key(crawl_id: str, filename: str, *, version: str | None = None) -> str:
    """A JSON Lines part of the crawl's text dataset."""
    return f"{dataset_prefix(crawl_id, jsonl=True, version=version)}{_check_filename(filename)}"


def version_manifest_key(crawl_id: str, version: str) -> str:
    """The manifest of a re-extracted version of the crawl's dataset."""
    return crawl_key(crawl_id, f"{TEXT_DATASET}@{validate_version(version)}.{MANIFEST_NAME}")


def legacy_text_prefix(crawl_id: str) -> str:
    """The dataset's folder in crawls stored by earlier versions, ending in '/'."""
    return f"{crawl_prefix(crawl_id)}{LEGACY_TEXT_FOLDER}/"


def legacy_version_prefix(crawl_id: str, version: str) -> str:
    """A re-extracted version's folder in crawls stored by earlier versions."""
    return f"{crawl_prefix(crawl_id)}_{TEXT_DATASET}-{validate_version(version)}/"


def report_key(from_id: str, to_id: str) -> str:
    """The scrub report between two crawls that ``scrubwatch demo`` leaves in its store."""
    return f"{REPORTS}/{validate_crawl_id(from_id)}--{validate_crawl_id(to_id)}.html"


def export_key(name: str) -> str:
    """Where a WACZ package made of the store's crawls is kept (``exports/<name>.wacz``)."""
    return f"{EXPORTS}/{_check_filename(name)}.wacz"


def crawl_prefixes(crawl_id: str) -> list[str]:
    """Prefixes of every key a crawl publishes: its folder, then its dataset partitions
    (text, then search results)."""
    return [
        crawl_prefix(crawl_id),
        dataset_prefix(crawl_id),
        dataset_prefix(crawl_id, jsonl=True),
        search_prefix(crawl_id),
        search_prefix(crawl_id, jsonl=True),
    ]


def crawl_keys(store: Store, crawl_id: str) -> list[str]:
    """Every key of the crawl in ``store`` (:func:`crawl_prefixes`), sorted."""
    return sorted(key for prefix in crawl_prefixes(crawl_id) for key in store.list(prefix))


def crawl_folder(crawl_id: str, key: str) -> str | None:
    """Which part of the crawl ``key`` is; None if it is no key of that crawl.

    ``""`` for a file at the top of the crawl's folder, :data:`TEXT_DATASET` for a part
    of its dataset (either format, and the folder earlier versions kept it in),
    :data:`SEARCH_DATASET` for a part of its search results, else the name of the folder
    of ``crawls/<crawl id>/`` it is in (``warc``, ``indexes``).
    """
    own, parquet, jsonl, searches, searches_jsonl = crawl_prefixes(crawl_id)
    if key.startswith((parquet, jsonl)):
        return TEXT_DATASET
    if key.startswith((searches, searches_jsonl)):
        return SEARCH_DATASET
    if not key.startswith(own):
        return None
    folder, _, _ = key[len(own) :].rpartition("/")
    return folder.split("/", 1)[0]


def dataset_part_keys(store: Store, crawl_id: str) -> list[str]:
    """Keys of the crawl's Parquet parts, sorted: in its partition of ``datasets/text``,
    or in ``crawls/<crawl id>/text/`` for a crawl stored by an earlier version."""
    for prefix in (dataset_prefix(crawl_id), legacy_text_prefix(crawl_id)):
        keys = sorted(k for k in store.list(prefix) if k.endswith(".parquet"))
        if keys:
            return keys
    return []


def worker_file(name: str, worker: str | None) -> str:
    """A worker's own copy of ``name`` in a shared crawl: ``a.jsonl.gz`` -> ``a.<worker>.jsonl.gz``.

    Without a worker (a crawl run by one process) the name is unchanged.
    """
    if not worker:
        return name
    stem, _, ext = name.partition(".")
    return f"{stem}.{validate_worker(worker)}.{ext}"


def worker_of(key: str, base: str) -> str | None:
    """The worker whose copy of the key ``base`` ``key`` is, None if it is no worker's copy."""
    folder, _, name = base.rpartition("/")
    stem, _, ext = name.partition(".")
    head = f"{folder}/{stem}." if folder else f"{stem}."
    if not (key.startswith(head) and key.endswith(f".{ext}")):
        return None
    worker = key[len(head) : -len(ext) - 1]
    return worker if _WORKER.fullmatch(worker) else None


def worker_copies(keys: Iterable[str], base: str) -> list[str]:
    """The keys among ``keys`` that are some worker's copy of ``base``, sorted."""
    return sorted(k for k in keys if worker_of(k, base) is not None)


def copies_of(store: Store, base: str) -> list[str]:
    """``base`` if ``store`` holds it, then every worker's copy of it that ``store`` holds."""
    folder, _, name = base.rpartition("/")
    keys = list(store.list(f"{folder}/{name.partition('.')[0]}."))
    return [k for k in keys if k == base] + worker_copies(keys, base)


def list_crawl_ids(store: Store) -> list[str]:
    """Ids of the crawls in ``store``, sorted (ids made by new_crawl_id sort by time)."""
    ids = set()
    for key in store.list(f"{CRAWLS}/"):
        parts = key.split("/")
        if len(parts) >= 3 and _CRAWL_ID.fullmatch(parts[1]) and not parts[1].startswith("."):
            ids.add(parts[1])
    return sorted(ids)


def crawl_exists(store: Store, crawl_id: str) -> bool:
    """Whether ``store`` holds any key of ``crawl_id``."""
    return next(iter(store.list(crawl_prefix(crawl_id))), None) is not None


def local_path(root: Path, key: str) -> Path:
    """Where ``key`` (or the folder of a prefix ending in '/') is in a folder that
    mirrors the store's layout: a staging folder, a pulled copy."""
    return root.joinpath(*check_key(key.removesuffix("/")).split("/"))


def staged_crawl(staging_root: Path, crawl_id: str) -> Path:
    """The staged copy of a crawl's folder."""
    return local_path(staging_root, crawl_prefix(crawl_id))


def staged_warcs(staging_root: Path, crawl_id: str) -> Path:
    """The folder the crawl's WARC files are staged in."""
    return local_path(staging_root, warc_prefix(crawl_id))


def staged_indexes(staging_root: Path, crawl_id: str) -> Path:
    """The folder the crawl's index files are staged in."""
    return staged_crawl(staging_root, crawl_id) / INDEX_FOLDER


def staged_dataset(staging_root: Path, crawl_id: str, *, jsonl: bool = False) -> Path:
    """The folder the crawl's Parquet parts (its JSON Lines parts with ``jsonl``) are staged in."""
    return local_path(staging_root, dataset_prefix(crawl_id, jsonl=jsonl))


def staged_searches(staging_root: Path, crawl_id: str, *, jsonl: bool = False) -> Path:
    """The folder the crawl's search results parts (JSON Lines with ``jsonl``) are staged in."""
    return local_path(staging_root, search_prefix(crawl_id, jsonl=jsonl))


def staged_dirs(staging_root: Path, crawl_id: str) -> list[Path]:
    """Every folder a crawl stages files in (:func:`crawl_prefixes`)."""
    return [local_path(staging_root, prefix) for prefix in crawl_prefixes(crawl_id)]


def staged_files(staging_root: Path, crawl_id: str) -> list[tuple[str, Path]]:
    """(key, path) of every closed file staged for ``crawl_id``, sorted by key."""
    files = [
        (path.relative_to(staging_root).as_posix(), path)
        for folder in staged_dirs(staging_root, crawl_id)
        if folder.is_dir()
        for path in folder.rglob("*")
        if path.is_file() and not path.name.endswith(OPEN_SUFFIX)
    ]
    return sorted(files)


def staged_args(staging_root: Path, crawl_id: str) -> Path:
    """How the crawl was asked for, kept while it runs so that it can be resumed."""
    return staged_crawl(staging_root, crawl_id) / ARGS_NAME


def staged_lock(staging_root: Path, crawl_id: str) -> Path:
    """The lock a running crawl holds."""
    return staged_crawl(staging_root, crawl_id) / LOCK_NAME


def set_aside_dir(staging_root: Path, crawl_id: str) -> Path:
    """Where what a resume keeps but must not publish goes, outside ``crawls/``."""
    return staging_root / SET_ASIDE / validate_crawl_id(crawl_id)


def open_path(path: Path) -> Path:
    """The name ``path`` has while it is written: ``<name>.open``, never published."""
    return path.with_name(path.name + OPEN_SUFFIX)


def worker_staging(staging_root: Path, worker: str) -> Path:
    """A worker's own staging folder: workers on one machine must not publish each
    other's staged files."""
    return staging_root / validate_worker(worker)


def default_staging_dir(store: Store) -> Path:
    """Where files wait before they are put into ``store``: ``<store>/.staging`` for a
    local store, a folder of its own under ``~/.cache/scrubwatch/staging`` for another."""
    if store.local_root is not None:
        return store.local_root / STAGING_DIRNAME
    return Path.home() / REMOTE_STAGING / staging_name(store.uri)


def staging_name(store_uri: str) -> str:
    """A folder name of its own for each remote store: readable, and unique by a short hash."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", store_uri.split("://", 1)[-1]).strip("._")
    digest = hashlib.sha256(store_uri.encode()).hexdigest()[:8]
    return f"{readable[:80]}-{digest}"
