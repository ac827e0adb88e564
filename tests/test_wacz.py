"""WACZ packages: ``scrubwatch export``, ``verify --wacz``, signatures, and other tools reading them.

Small crawls written without crawling (:mod:`tests.fixtures.stored`) check the format and
each of the strict verifier's checks, by tampering with one part of a package and
fixing every hash above it; the story's two real crawls (:mod:`tests.fixtures.story`)
check that a package of the second carries the originals of its revisits, that the
removed photo is in it, and that ``wacz validate`` and pywb read what we write.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from warcio.archiveiterator import ArchiveIterator

from crawler.cli import main
from storage import open_store
from storage.errors import BadInput
from storage.wacz import Page, write_wacz
from storage.waczpages import dataset_pages
from storage.waczsign import Signer
from storage.waczverify import verify_wacz
from tests.fixtures.stored import Capture, store_crawl
from tests.fixtures.story import FIRST, SECOND, Story

ROOT = Path(__file__).resolve().parent.parent
WACZ = Path(sys.executable).parent / "wacz"
PYWB = ROOT / ".venv-pywb" / "bin" / "python"
CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URLS = [f"https://news.example/story-{n}" for n in range(5)]


def _store(root: Path, uri: str | None = None) -> Any:
    store = open_store(uri or str(root / "archive"))
    captures = [
        Capture(url, "news", "a.warc.gz" if n < 3 else "b.warc.gz") for n, url in enumerate(URLS)
    ]
    store_crawl(store, root / "staging", "c1", captures, created=CREATED)
    return store


def _pages() -> list[Page]:
    return [
        Page(url, "2026-03-01T11:00:00Z", f"title {n}", f"text {n}") for n, url in enumerate(URLS)
    ]


def _write(store: Any, out: Path, **options: Any) -> Any:
    options.setdefault("pages", _pages())
    return write_wacz(
        store, ["c1"], out, created=CREATED, software="scrubwatch test", title="t", **options
    )


def _sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def rewrite(package: Path, out: Path, changes: dict[str, bytes]) -> Path:
    """``package`` with ``changes`` made, and datapackage.json and its digest fixed up."""
    with zipfile.ZipFile(package) as zf:
        files = {info.filename: (info, zf.read(info)) for info in zf.infolist()}
    files = {name: (info, changes.get(name, data)) for name, (info, data) in files.items()}
    meta = json.loads(files["datapackage.json"][1])
    for resource in meta["resources"]:
        data = files[resource["path"]][1]
        resource["hash"], resource["bytes"] = _sha(data), len(data)
    unchanged = meta == json.loads(files["datapackage.json"][1])
    manifest = files["datapackage.json"][1] if unchanged else json.dumps(meta).encode()
    digest = json.loads(files["datapackage-digest.json"][1])
    digest["hash"] = _sha(manifest)
    files["datapackage.json"] = (files["datapackage.json"][0], manifest)
    files["datapackage-digest.json"] = (
        files["datapackage-digest.json"][0],
        json.dumps(digest).encode(),
    )
    with zipfile.ZipFile(out, "w") as zf:
        for info, data in files.values():
            zf.writestr(info, data)
    return out


def wacz_validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(WACZ), "validate", "-f", str(path)], capture_output=True, text=True)


def test_a_package_from_s3_holds_every_file_hashed_and_validates(
    tmp_path: Path, s3_store_uri: str
) -> None:
    store = _store(tmp_path, s3_store_uri)
    result = _write(store, tmp_path / "c1.wacz")
    with zipfile.ZipFile(tmp_path / "c1.wacz") as zf:
        names = zf.namelist()
        assert names == [
            "archive/c1-a.warc.gz",
            "archive/c1-b.warc.gz",
            "indexes/index.cdxj",
            "pages/pages.jsonl",
            "datapackage.json",
            "datapackage-digest.json",
        ]
        stored = {i.filename for i in zf.infolist() if i.compress_type == zipfile.ZIP_STORED}
        assert {"archive/c1-a.warc.gz", "archive/c1-b.warc.gz"} <= stored
        assert zf.read("archive/c1-a.warc.gz") == store.get("crawls/c1/warc/a.warc.gz")
        meta = json.loads(zf.read("datapackage.json"))
        assert meta["wacz_version"] == "1.1.1" and meta["profile"] == "data-package"
        assert meta["created"] == "2026-03-01T12:00:00Z" and meta["software"] == "scrubwatch test"
        for resource in meta["resources"]:
            data = zf.read(resource["path"])
            assert resource["hash"] == _sha(data) and resource["bytes"] == len(data)
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest == {"path": "datapackage.json", "hash": _sha(zf.read("datapackage.json"))}
        index = zf.read("indexes/index.cdxj").decode().splitlines()
        assert sorted(json.loads(line.split(" ", 2)[2])["url"] for line in index) == sorted(URLS)
        assert {json.loads(line.split(" ", 2)[2])["filename"] for line in index} == {
            "c1-a.warc.gz",
            "c1-b.warc.gz",
        }
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").splitlines()]
        assert pages[0] == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
        assert [p["url"] for p in pages[1:]] == URLS and pages[1]["text"] == "text 0"
    assert (result.captures, result.pages, result.originals) == (5, 5, 0)
    check = verify_wacz(tmp_path / "c1.wacz")
    assert check.problems == [] and (check.records, check.pages, check.signed) == (5, 5, False)
    done = wacz_validate(tmp_path / "c1.wacz")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_large_index_is_written_in_gzip_blocks_with_an_idx(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _write(store, tmp_path / "c1.wacz", plain_index_lines=2)
    with zipfile.ZipFile(tmp_path / "c1.wacz") as zf:
        assert "indexes/index.cdxj" not in zf.namelist()
        assert zf.getinfo("indexes/index.cdx.gz").compress_type == zipfile.ZIP_STORED
        idx = zf.read("indexes/index.idx").decode().splitlines()
        data = zf.read("indexes/index.cdx.gz")
    assert idx[0] == '!meta 0 {"format": "cdxj-gzip-1.0", "filename": "index.cdx.gz"}'
    assert len(idx) == 2  # 5 lines: one block of BLOCK_LINES
    block = json.loads(idx[1].split(" ", 2)[2])
    assert block["offset"] == 0 and block["length"] == len(data) and block["digest"] == _sha(data)
    assert len(gzip.decompress(data).splitlines()) == 5
    assert verify_wacz(tmp_path / "c1.wacz").problems == []
    assert wacz_validate(tmp_path / "c1.wacz").returncode == 0
    broken = data[:-12] + bytes(12)
    bad = rewrite(tmp_path / "c1.wacz", tmp_path / "bad.wacz", {"indexes/index.cdx.gz": broken})
    problems = verify_wacz(bad).problems
    assert any("block hash differs" in p for p in problems), problems


def test_verify_finds_a_changed_byte_a_missing_digest_and_an_unlisted_file(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _write(store, tmp_path / "c1.wacz")
    package = tmp_path / "c1.wacz"
    tampered = tmp_path / "tampered.wacz"
    with zipfile.ZipFile(package) as zf, zipfile.ZipFile(tampered, "w") as out:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename == "archive/c1-a.warc.gz":
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
            if info.filename != "datapackage-digest.json":
                out.writestr(info, data)
        out.writestr("notes.txt", b"unlisted")
    problems = verify_wacz(tampered).problems
    assert any(p.startswith("archive/c1-a.warc.gz: hash sha256:") for p in problems), problems
    assert "datapackage-digest.json: missing" in problems
    assert "notes.txt: in the package but not listed in datapackage.json" in problems


def test_verify_finds_an_index_line_whose_record_is_not_there(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _write(store, tmp_path / "c1.wacz")
    with zipfile.ZipFile(tmp_path / "c1.wacz") as zf:
        lines = zf.read("indexes/index.cdxj").decode().splitlines()
    key, ts, data = lines[0].split(" ", 2)
    fields = json.loads(data)
    fields["offset"] = str(int(fields["offset"]) + 1)
    lines[0] = f"{key} {ts} {json.dumps(fields)}"
    index = "".join(line + "\n" for line in lines).encode()
    bad = rewrite(tmp_path / "c1.wacz", tmp_path / "bad.wacz", {"indexes/index.cdxj": index})
    problems = verify_wacz(bad).problems
    assert len(problems) == 1 and fields["url"] in problems[0], problems
    assert "gzip member" in problems[0]  # every hash above it was fixed: only the record is wrong


def test_verify_finds_malformed_pages(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _write(store, tmp_path / "c1.wacz")
    pages = (
        b'{"format": "json-pages-1.0", "id": "pages"}\n'
        b'{"url": "https://news.example/story-0", "ts": "yesterday"}\n'
        b'{"url": "https://elsewhere.example/", "ts": "2026-03-01T11:00:00Z"}\n'
        b"not json\n"
    )
    bad = rewrite(tmp_path / "c1.wacz", tmp_path / "bad.wacz", {"pages/pages.jsonl": pages})
    problems = verify_wacz(bad).problems
    assert problems == [
        "pages/pages.jsonl line 2: ts 'yesterday' is not an RFC 3339 time",
        "pages/pages.jsonl line 3: https://elsewhere.example/ is not in the index",
        "pages/pages.jsonl line 4: not JSON (Expecting value: line 1 column 1 (char 0))",
    ]


def _key_file(path: Path, key: Any) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return path


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["P-256", "P-384"])
def test_a_signed_package_verifies_and_a_forged_one_does_not(
    tmp_path: Path, curve: ec.EllipticCurve
) -> None:
    store = _store(tmp_path)
    key = ec.generate_private_key(curve)
    signer = Signer.from_pem(_key_file(tmp_path / "key.pem", key), "scrubwatch test")
    _write(store, tmp_path / "c1.wacz", signer=signer)
    with zipfile.ZipFile(tmp_path / "c1.wacz") as zf:
        digest = json.loads(zf.read("datapackage-digest.json"))
    signed = digest["signedData"]
    assert set(signed) == {"hash", "created", "software", "signature", "publicKey"}
    assert signed["hash"] == digest["hash"] and signed["created"] == "2026-03-01T12:00:00Z"
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signed["publicKey"] == base64.b64encode(public).decode()
    check = verify_wacz(tmp_path / "c1.wacz")
    assert check.problems == [] and check.signed
    assert wacz_validate(tmp_path / "c1.wacz").returncode == 0
    # a package changed and re-hashed by someone without the key
    forged = rewrite(tmp_path / "c1.wacz", tmp_path / "forged.wacz", {"pages/pages.jsonl": b"{}\n"})
    problems = verify_wacz(forged).problems
    assert any("signedData hash" in p for p in problems), problems
    other = Signer(ec.generate_private_key(curve), "x").sign(signed["hash"], CREATED)
    digest["signedData"] = {**signed, "signature": other["signature"]}
    swapped = rewrite(
        tmp_path / "c1.wacz",
        tmp_path / "swapped.wacz",
        {"datapackage-digest.json": json.dumps(digest).encode()},
    )
    assert "datapackage-digest.json: signedData signature does not verify with its publicKey" in (
        verify_wacz(swapped).problems
    )


def test_keys_that_cannot_sign_are_refused_in_one_line(tmp_path: Path) -> None:
    p521 = _key_file(tmp_path / "p521.pem", ec.generate_private_key(ec.SECP521R1()))
    with pytest.raises(BadInput, match="curve secp521r1: use P-256 or P-384"):
        Signer.from_pem(p521, "x")
    rsa_key = _key_file(tmp_path / "rsa.pem", rsa.generate_private_key(65537, 2048))
    with pytest.raises(BadInput, match="not an elliptic-curve key"):
        Signer.from_pem(rsa_key, "x")
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(BadInput, match="not an unencrypted PEM private key"):
        Signer.from_pem(tmp_path / "junk.pem", "x")


def test_cli_exports_signs_and_verifies(tmp_path: Path) -> None:
    _store(tmp_path)
    key = _key_file(tmp_path / "key.pem", ec.generate_private_key(ec.SECP384R1()))
    runner = CliRunner()
    out = tmp_path / "c1.wacz"
    store = str(tmp_path / "archive")
    done = runner.invoke(main, ["export", "--store", store, "-o", str(out), "--sign", str(key)])
    assert done.exit_code == 0, done.output
    assert "1 crawl(s), 5 captures, 0 pages" in done.output and "signed" in done.output
    done = runner.invoke(main, ["verify", "--wacz", str(out)])
    assert done.exit_code == 0 and "ok, 4 files, 5 records, 0 pages, signed" in done.output
    bad = rewrite(out, tmp_path / "bad.wacz", {"pages/pages.jsonl": b"{}\n"})
    done = runner.invoke(main, ["verify", "--wacz", str(bad)])
    assert done.exit_code == 1 and "signedData hash" in done.output
    done = runner.invoke(main, ["export", "--store", store, "--crawl", "nope", "-o", str(out)])
    assert done.exit_code == 2 and "no crawl nope in store" in done.output
    done = runner.invoke(main, ["export", "--store", store, "-o", str(tmp_path / "x.zip")])
    assert done.exit_code == 2 and "ends in .wacz" in done.output


def _payload(zf: zipfile.ZipFile, url: str) -> list[tuple[str, bytes]]:
    """(record type, payload) of every capture of ``url`` in the package's index."""
    found = []
    for line in zf.read("indexes/index.cdxj").decode().splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        if fields["url"] != url:
            continue
        data = zf.read("archive/" + fields["filename"])
        member = data[int(fields["offset"]) : int(fields["offset"]) + int(fields["length"])]
        record = next(iter(ArchiveIterator(io.BytesIO(member))))
        found.append((record.rec_type, record.content_stream().read()))
    return found


@pytest.mark.slow
def test_a_package_of_the_second_crawl_replays_without_the_store(
    story: Story, tmp_path: Path
) -> None:
    store = open_store(str(story.store))
    out = tmp_path / "v2.wacz"
    pages = dataset_pages(store, [SECOND])
    result = write_wacz(
        store, [SECOND], out, pages=pages, created=CREATED, software="t", title="v2"
    )
    assert result.originals > 0 and result.original_crawls == [FIRST] and not result.unresolved
    with zipfile.ZipFile(out) as zf:
        meta = json.loads(zf.read("datapackage.json"))
        assert meta["scrubwatch"]["standalone"] == {
            "originals": "archive/originals.warc.gz",
            "records": result.originals,
            "from_crawls": [FIRST],
            "unresolved_revisits": 0,
        }
        index = [
            json.loads(line.split(" ", 2)[2])
            for line in zf.read("indexes/index.cdxj").decode().splitlines()
        ]
        revisits = {f["digest"] for f in index if f["mime"] == "warc/revisit"}
        full = {f["digest"] for f in index if f["mime"] != "warc/revisit"}
        assert revisits and revisits <= full  # every revisit's payload is in the package
    # the edited article's page has its text back although the second crawl revisited
    # nothing of it: and an unchanged page's row (a revisit) has the first crawl's text
    seed = next(p for p in pages if "senior-chinese" in p.url)
    assert seed.text and len(seed.text) > 200
    assert verify_wacz(out).problems == []
    assert wacz_validate(out).returncode == 0


@pytest.mark.slow
def test_the_story_package_holds_the_removed_photo_and_pywb_reads_it(
    story: Story, tmp_path: Path
) -> None:
    out = tmp_path / "story.wacz"
    runner = CliRunner()
    args = ["export", "--store", str(story.store), "--crawl", FIRST, "--crawl", SECOND]
    done = runner.invoke(main, [*args, "-o", str(out)])
    assert done.exit_code == 0, done.output
    photo = story.removed_photo
    with zipfile.ZipFile(out) as zf:
        meta = json.loads(zf.read("datapackage.json"))
        captures = _payload(zf, photo["image"])
        zf.extractall(tmp_path / "unpacked")
    assert meta["mainPageUrl"] == story.expected["seed_url"]
    # the first crawl's photo, then the second's 404
    assert [kind for kind, _ in captures] == ["response", "response"]
    assert hashlib.sha256(captures[0][1]).hexdigest() == photo["sha256"]
    assert PYWB.exists(), f"{PYWB} missing: `make pywb` makes it (tests/pywb/requirements.txt)"
    edited_url, _ = story.edited
    lookup = subprocess.run(
        [
            str(PYWB),
            str(ROOT / "tests/pywb/wacz_lookup.py"),
            str(tmp_path / "unpacked/indexes/index.cdxj"),
            str(tmp_path / "unpacked/archive"),
            photo["image"],
            edited_url,
            story.expected["seed_url"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert lookup.returncode == 0, lookup.stderr[-3000:]
    found = {entry["url"]: entry["found"] for entry in map(json.loads, lookup.stdout.splitlines())}
    assert [c["sha256"] for c in found[photo["image"]] if c["status"] == "200"] == [photo["sha256"]]
    assert [c["status"] for c in found[photo["image"]]][-1] == "404"
    assert len(found[edited_url]) == 2 and {c["status"] for c in found[edited_url]} == {"200"}
    assert len({c["sha256"] for c in found[edited_url]}) == 2  # the edit
    # the seed did not change: its second capture is a revisit, which pywb resolves
    seed = found[story.expected["seed_url"]]
    assert len(seed) == 2 and len({c["sha256"] for c in seed}) == 1


def test_a_package_of_some_urls_copies_their_records_only(tmp_path: Path) -> None:
    store = _store(tmp_path)
    result = _write(store, tmp_path / "some.wacz", urls=frozenset(URLS[1:4:2]))
    with zipfile.ZipFile(tmp_path / "some.wacz") as zf:
        assert [n for n in zf.namelist() if n.startswith("archive/")] == [
            "archive/c1-selected.warc.gz"
        ]
        records = list(ArchiveIterator(io.BytesIO(zf.read("archive/c1-selected.warc.gz"))))
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").splitlines()[1:]]
    assert sorted(r.rec_headers.get_header("WARC-Target-URI") for r in records) == [
        URLS[1],
        URLS[3],
    ]
    assert [p["url"] for p in pages] == [URLS[1], URLS[3]]
    assert (result.captures, result.pages) == (2, 2)
    assert verify_wacz(tmp_path / "some.wacz").problems == []


def test_resource_names_are_what_frictionless_allows(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "archive"))
    crawl = "20260301T120000Z-v1"
    store_crawl(
        store, tmp_path / "staging", crawl, [Capture(URLS[0], None, "A.warc.gz")], created=CREATED
    )
    out = tmp_path / "caps.wacz"
    write_wacz(store, [crawl], out, pages=[], created=CREATED, software="t", title="t")
    with zipfile.ZipFile(out) as zf:
        meta = json.loads(zf.read("datapackage.json"))
    warc = next(r for r in meta["resources"] if r["path"].startswith("archive/"))
    assert warc["path"] == f"archive/{crawl}-A.warc.gz"
    assert warc["name"] == "20260301t120000z-v1-a.warc.gz"
    done = wacz_validate(out)
    assert done.returncode == 0, done.stdout + done.stderr
