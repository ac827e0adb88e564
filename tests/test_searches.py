"""Search seeds and the engine registry: parsing, checking, the URLs a search asks for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.engines import EngineRegistry
from crawler.jobrun import crawl_command
from crawler.jobs import JobsError, load_jobs
from crawler.outlets import OutletRegistry, SeedError
from crawler.searches import (
    Search,
    all_searches,
    check_searches,
    pages_of,
    parse_search,
    search_page,
    searches_in_list,
)
from crawler.seeds import load_seed
from crawler.settings import OUTLETS_REGISTRY
from tests.fixtures.cli import run_cli

SHIPPED = Path(OUTLETS_REGISTRY)
GOOD = 'name = "E"\nurl = "https://e.example/s?q={query}&p={page}"\n'


def registry(tmp_path: Path, text: str, name: str = "engines.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_engines() -> None:
    engines = EngineRegistry.load(SHIPPED)
    keys = {e.key for e in engines}
    assert keys == {"baidu", "baidu-images", "weibo", "bing", "duckduckgo", "x", "google"}
    for engine in engines:
        assert engine.interval == 60.0 and engine.rules.results, engine.key
    baidu = engines.get("baidu")
    assert baidu is not None and baidu.browser
    assert baidu.page_url("董经纬", 3) == (
        "https://www.baidu.com/s?ie=utf-8&wd=%E8%91%A3%E7%BB%8F%E7%BA%AC&pn=20"
    )
    ddg = engines.get("duckduckgo")
    assert ddg is not None and not ddg.browser and ddg.rules.target_param == "uddg"
    assert ddg.page_url("Dong Jingwei") == "https://html.duckduckgo.com/html/?q=Dong+Jingwei&s=0"
    x = engines.get("x")
    assert x is not None and not x.paged and list(pages_of(x, 3)) == [1]
    bing = engines.get("bing")
    assert bing is not None and bing.page_url("a", 2).endswith("first=11")
    # the outlet registry reads the same file, engines aside
    assert OutletRegistry.load(SHIPPED).outlets["baidu"].browser


def test_a_later_file_overrides_an_engine_field_by_field(tmp_path: Path) -> None:
    local = registry(
        tmp_path,
        '[engines.baidu]\nurl = "http://127.0.0.5:8080/s?wd={query}"\ncharset = "gbk"\n'
        "interval = 0.5\n",
    )
    baidu = EngineRegistry.load(SHIPPED, local).get("baidu")
    assert baidu is not None and baidu.name == "Baidu" and baidu.interval == 0.5
    assert baidu.page_url("董经纬") == "http://127.0.0.5:8080/s?wd=%B6%AD%BE%AD%CE%B3"  # GBK
    assert baidu.rules == EngineRegistry.load(SHIPPED).engines["baidu"].rules
    with pytest.raises(ValueError, match="cannot be written in engine baidu's charset gbk"):
        baidu.page_url("Ω 🙂")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[engines.e]\nurl = "https://e.example/?q={query}"\n', "engines.e.name: must be"),
        ('[engines.e]\nname = "E"\nurl = "ftp://e/{query}"\n', "engines.e.url: must be an http"),
        ('[engines.e]\nname = "E"\nurl = "https://e.example/?q=x"\n', "with {query}"),
        ('[engines.e]\nname = "E"\nurl = "https://e/?q={query}&n={num}"\n', "placeholders are"),
        ("[engines.e]\n" + GOOD + 'charset = "klingon"\n', "engines.e.charset: must be"),
        ("[engines.e]\n" + GOOD + "browser = 1\n", "engines.e.browser: must be true or false"),
        ("[engines.e]\n" + GOOD + "page_size = 0\n", "engines.e.page_size: must be a whole"),
        ("[engines.e]\n" + GOOD + "interval = -1\n", "engines.e.interval: must be a number"),
        ("[engines.e]\n" + GOOD + "homepage = 1\n", "engines.e.homepage: unknown field"),
        ("[engines.E]\n" + GOOD, "engines.E: must be a table with a lowercase key"),
        ("[engines.e]\n" + GOOD + "[engines.e.rules]\nresults = 3\n", "results: must be a non"),
        ("[engines.e]\n" + GOOD + '[engines.e.rules]\nresults = "div["\n', "not a CSS selector"),
        ("[engines.e]\n" + GOOD + '[engines.e.rules]\ncaptcha = "(x"\n', "not a regular exp"),
        ("[engines.e]\n" + GOOD + '[engines.e.rules]\nitems = "li"\n', "items: unknown rule"),
    ],
)
def test_a_bad_engine_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = registry(tmp_path, text)
    with pytest.raises(SeedError, match=message.replace("[", r"\[").replace("(", r"\(")) as exc:
        EngineRegistry.load(path)
    assert str(exc.value).startswith(f"outlet registry {path}: engines.")


def test_search_seeds_in_lists_and_flags(tmp_path: Path) -> None:
    seeds = tmp_path / "watch.seeds"
    seeds.write_text(
        "# what to watch\nhttps://news.example/a  # an article\n"
        "search baidu 董经纬\nsearch x #DongJingwei\nsearch  bing   Dong   Jingwei \n",
        encoding="utf-8",
    )
    assert searches_in_list(seeds.read_text(encoding="utf-8")) == [
        Search("baidu", "董经纬"),
        Search("x", "#DongJingwei"),
        Search("bing", "Dong Jingwei"),
    ]
    # the seed list's citations are its URLs: a search line is no URL to cite, nor an error
    citations = load_seed(str(seeds), OutletRegistry.load(SHIPPED))
    assert [c.url for c in citations] == ["https://news.example/a"]
    found = all_searches([str(seeds)], ["baidu:董经纬", "google: Dong Jingwei"])
    assert found == [
        Search("baidu", "董经纬"),
        Search("x", "#DongJingwei"),
        Search("bing", "Dong Jingwei"),
        Search("google", "Dong Jingwei"),
    ]
    check_searches(found, EngineRegistry.load(SHIPPED))
    assert str(parse_search("x:#a:b")) == "x:#a:b"


@pytest.mark.parametrize("text", ["baidu", "baidu:", ":董经纬", "  :  "])
def test_a_search_flag_must_name_engine_and_query(text: str) -> None:
    with pytest.raises(SeedError, match="write ENGINE:QUERY"):
        parse_search(text)


def test_an_unknown_engine_is_named_with_the_known_ones() -> None:
    with pytest.raises(SeedError, match=r"no engine 'baidoo' in the registry \(engines: baidu, "):
        check_searches([Search("baidoo", "x")], EngineRegistry.load(SHIPPED))


def test_a_search_page_carries_its_engines_rules() -> None:
    engines = EngineRegistry.load(SHIPPED)
    page = search_page({"engine": "baidu-images", "query": "董经纬", "page": 2}, engines)
    assert page is not None and page.browser and page.rank_offset == 30
    assert page.rules == engines.engines["baidu-images"].rules
    assert page.log_fields() == {"engine": "baidu-images", "query": "董经纬", "page": 2}
    assert search_page(None, engines) is None
    assert search_page({"engine": "gone", "query": "x", "page": 1}, engines) is None


def test_the_seeds_command_lists_searches(tmp_path: Path) -> None:
    seeds = registry(tmp_path, "search duckduckgo Dong Jingwei\nhttps://n.example/a\n", "w.seeds")
    done = run_cli("seeds", str(seeds), "--json")
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first == {
        "url": "https://html.duckduckgo.com/html/?q=Dong+Jingwei&s=0",
        "outlet": "duckduckgo",  # the shipped registry knows the engine's domain
        "source": "search",
        "context": "search duckduckgo Dong Jingwei",
    }
    assert second["url"] == "https://n.example/a"
    bad = registry(tmp_path, "search nope x\n", "bad.seeds")
    done = run_cli("seeds", str(bad))
    assert done.returncode == 2 and "no engine 'nope'" in done.stderr


def test_crawl_refuses_a_search_of_an_unknown_engine_before_it_starts(tmp_path: Path) -> None:
    done = run_cli("crawl", "--search", "nope:x", "--store", str(tmp_path / "a"))
    assert done.returncode == 2
    assert done.stderr.strip().endswith("no engine 'nope' in the registry (engines: baidu, "
                                        "baidu-images, bing, duckduckgo, google, weibo, x)")  # fmt: skip
    assert not (tmp_path / "a" / "crawls").exists()
    done = run_cli("crawl", "--search", "baidu:x", "--search-pages", "0", "--store", "a")
    assert done.returncode == 2 and "--search-pages" in done.stderr


def test_jobs_take_searches(tmp_path: Path) -> None:
    jobs = registry(
        tmp_path,
        '[jobs.name]\nsearches = ["baidu:董经纬", "x:#DongJingwei"]\nstore = "archive"\n'
        'schedule = { every = "6h" }\nsearch_pages = 2\nignore_robots = true\n',
        "scrubwatch.toml",
    )
    [job] = load_jobs(jobs)
    assert (job.seeds, job.searches, job.search_pages) == (
        (),
        ("baidu:董经纬", "x:#DongJingwei"),
        2,
    )
    command = crawl_command(job, "20260101T000000Z-name")
    assert command[command.index("crawl") + 1] == "--store"
    given = [command[i + 1] for i, arg in enumerate(command) if arg == "--search"]
    assert given == ["baidu:董经纬", "x:#DongJingwei"]
    assert "--ignore-robots" in command and command[command.index("--search-pages") + 1] == "2"


@pytest.mark.parametrize(
    ("table", "field", "message"),
    [
        ('searches = ["baidu"]', "searches", "write ENGINE:QUERY"),
        ("searches = []", "searches", "must not be empty when the job has no seeds"),
        ('searches = "baidu:x"', "searches", 'must be a list of "ENGINE:QUERY" strings'),
        ('searches = ["baidu:x"]\nsearch_pages = 0', "search_pages", "must be a whole number"),
        ('searches = ["baidu:x"]\nignore_robots = "yes"', "ignore_robots", "must be true or"),
        ('searches = ["baidu:x"]\nsettings = { SEARCHES = [] }', "settings", "job's searches"),
    ],
)
def test_a_bad_search_field_of_a_job_is_named(
    tmp_path: Path, table: str, field: str, message: str
) -> None:
    jobs = registry(
        tmp_path,
        f'[jobs.j]\nstore = "a"\nschedule = {{ every = "1h" }}\n{table}\n',
        "scrubwatch.toml",
    )
    with pytest.raises(JobsError, match=f'job "j": {field}: .*{message}'):
        load_jobs(jobs)
