"""Tests of history.diffresult: the typed diff and the JSON the README documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from history.diffresult import Delta, Diff, PageDiff, Scrub
from tests.fixtures.documents import replaced_at

PHOTO = "https://image.example/dong.png"
PAGE = "https://news.example/a"


def _diff() -> Diff:
    page = PageDiff(
        PAGE,
        "changed",
        status_from=200,
        status_to=200,
        text=Delta(["董经纬 国家安全部副部长"], []),
        images=Delta([PHOTO], []),
    )
    moved = PageDiff(
        "https://news.example/b",
        "removed",
        200,
        200,
        redirect="https://news.example/",
        why="redirect",
    )
    soft = PageDiff("https://news.example/c", "removed", 200, 200, why="soft-404", by="probe")
    late = PageDiff("https://news.example/d", "unreachable", 200, None, why="timeout")
    scrubs = [
        Scrub(PHOTO, "image-removed", PAGE, "c1", "off-page"),
        Scrub(PAGE, "text-removed", PAGE, "c1", "edited"),
        Scrub(
            "https://news.example/b", "page-redirected", "https://news.example/b", None, "redirect"
        ),
        Scrub(
            "https://news.example/c",
            "page-removed",
            "https://news.example/c",
            "c1",
            "soft-404",
            "probe",
        ),
    ]
    return Diff("c1", "c2", [page, moved, soft, late], scrubs)


def test_the_json_has_the_documented_shape_and_reads_back() -> None:
    data = _diff().to_dict()
    assert list(data) == ["from", "to", "pages", "scrubbed", "searches"]
    assert data["pages"][0] == {
        "url": PAGE,
        "change": "changed",
        "status": {"from": 200, "to": 200},
        "redirect": None,
        "text": {"removed": ["董经纬 国家安全部副部长"], "added": []},
        "images": {"removed": [PHOTO], "added": []},
        "links": {"removed": [], "added": []},
        "why": None,
        "by": None,
    }
    assert data["pages"][1]["redirect"] == {"to": "https://news.example/"}
    assert (data["pages"][2]["why"], data["pages"][2]["by"]) == ("soft-404", "probe")
    assert (data["pages"][3]["change"], data["pages"][3]["why"]) == ("unreachable", "timeout")
    assert data["scrubbed"][0] == {
        "url": PHOTO,
        "kind": "image-removed",
        "page": PAGE,
        "archived_in": "c1",
        "why": "off-page",
        "by": None,
    }
    assert data["scrubbed"][3]["why"] == "soft-404" and data["scrubbed"][3]["by"] == "probe"
    assert Diff.from_dict(json.loads(json.dumps(data))) == _diff()


def test_a_diff_saved_before_the_evidence_fields_reads_back() -> None:
    data = _diff().to_dict()
    for entry in [*data["pages"], *data["scrubbed"]]:
        del entry["why"], entry["by"]
    read = Diff.from_dict(data)
    assert [s.why for s in read.scrubbed] == [None] * 4
    assert [p.why for p in read.pages] == [None] * 4


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    return replaced_at(_diff().to_dict(), path, value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["pages", 0, "change"], "gone", "'change' is 'gone', not one of unchanged, changed"),
        (["scrubbed", 0, "kind"], "photo-removed", "'kind' is 'photo-removed', not one of"),
        (["pages", 0, "status", "to"], "200", "'to' has the wrong type"),
        (["pages", 0, "status", "to"], True, "'to' has the wrong type"),
        (["pages", 0, "text", "removed"], [1], "'removed' is not a list of strings"),
        (["scrubbed", 0, "archived_in"], 3, "'archived_in' has the wrong type"),
        (["scrubbed", 0, "why"], "gone", "'why' is 'gone', not one of http-404"),
        (["scrubbed", 3, "by"], "guess", "'by' is 'guess', not one of probe, wording"),
        (["pages", 3, "why"], 504, "'why' has the wrong type"),
    ],
)
def test_a_wrong_field_is_named(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Diff.from_dict(_with(path, value))


def test_counts_name_the_changes_that_occur() -> None:
    assert _diff().counts() == {"changed": 1, "removed": 2, "unreachable": 1}
