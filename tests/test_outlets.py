"""The outlet registry: loading and checking TOML files, domains, names in text."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.outlets import OutletRegistry, SeedError, sentence_finder
from tests.fixtures.article import ARTICLE, ARTICLE_OUTLETS

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "seeds" / "outlets.toml"
LOCAL = Path(__file__).parent / "data" / "seeds" / "local-outlets.toml"


@pytest.fixture(scope="module")
def registry() -> OutletRegistry:
    return OutletRegistry.load(SHIPPED)


def named_keys(registry: OutletRegistry, text: str) -> list[str]:
    return [outlet.key for outlet, _ in registry.find_named(text)]


# Platforms whose pages script builds, shipped for seeds that cite them by URL.
SCRIPTED_PLATFORMS = ["weibo", "youtube", "google-images", "bing-images"]


def test_shipped_registry_holds_the_article_outlets(registry: OutletRegistry) -> None:
    assert {*ARTICLE_OUTLETS, "telegraph-uk", *SCRIPTED_PLATFORMS} <= set(registry.outlets)
    assert registry.outlets["baidu"].start_urls[0] == (
        "https://image.baidu.com/search/index?tn=baiduimage&word=%E8%91%A3%E7%BB%8F%E7%BA%AC"
    )
    assert "%23DongJingwei" in registry.outlets["twitter"].start_urls[0]


def test_article_names_exactly_its_outlets_with_their_sentences(registry: OutletRegistry) -> None:
    found = registry.find_named(ARTICLE.read_text(encoding="utf-8"))

    assert [outlet.key for outlet, _ in found] == ARTICLE_OUTLETS
    sentences = {outlet.key: sentence for outlet, sentence in found}
    assert sentences["upi"] == "UPI has more:"
    assert sentences["baidu"] == (
        "The photo has since been removed from Chinese search engine Baidu."
    )
    assert sentences["spytalk"] == (
        "Dong may have secretly traveled from Hong Kong to the United States on Feb. 10,"
        " escaping with his daughter, Dong Yang, according to SpyTalk, a newsletter covering"
        " U.S. intelligence."
    )
    assert sentences["abc-au"].startswith("Speaking on the ABC’s Insiders program this morning,")
    assert (
        sentences["twitter"] == "“That is not a picture of Dong Jingwei,” one Twitter user wrote."
    )


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("as the Daily Telegraph in Sydney reported Monday", ["daily-telegraph-au"]),
        ("The Daily Telegraph Australia has more", ["daily-telegraph-au"]),
        ("Sydney’s Daily Telegraph said", ["daily-telegraph-au"]),
        ("London's Daily Telegraph said", ["telegraph-uk"]),
        ("according to The Daily Telegraph, a British paper", ["telegraph-uk"]),
        ("Taiwan’s Liberty Times reported Saturday", ["liberty-times"]),
        ("she told the Insiders program", ["abc-au"]),
        ("speaking on the ABC’s Insiders program", ["abc-au"]),
        ("the SCMP and the South China\n   Morning Post", ["scmp"]),
        ("Mike Huckabee notes on The Stream about", ["the-stream"]),
        ("a clip on Rumble; a UPI wire; posts on Twitter", ["rumble", "upi", "twitter"]),
    ],
)
def test_names_and_aliases(registry: OutletRegistry, text: str, keys: list[str]) -> None:
    assert named_keys(registry, text) == keys


@pytest.mark.parametrize(
    "text",
    [
        "a upi payment",  # UPI only in capitals
        "the Upi river",
        "abc and ABCDEF and abc’s and xABC and ABC_1",  # ABC only as a whole word, in capitals
        "industry insiders said; Insiders say",  # the programme needs its name
        "the stream of refugees; a Stream of data",
        "a rumble of thunder",
        "the Liberty Timesheet app",
        "scmp.community and baidu_mirror and SpyTalker",
    ],
)
def test_words_that_are_not_names(registry: OutletRegistry, text: str) -> None:
    assert named_keys(registry, text) == []


def test_first_mention_per_outlet_in_text_order(registry: OutletRegistry) -> None:
    text = "UPI said so. Then Baidu did. UPI again. And Baidu."
    assert registry.find_named(text) == [
        (registry.outlets["upi"], "UPI said so."),
        (registry.outlets["baidu"], "Then Baidu did."),
    ]


def test_sentences_keep_abbreviations_and_wrapped_lines() -> None:
    text = "Dr. Smith met Mr. Dong on Feb. 10 in the U.S.\nIt rained. “Why?” he asked. Next\n\nNew"
    sentence_at = sentence_finder(text)
    assert sentence_at(0) == "Dr. Smith met Mr. Dong on Feb. 10 in the U.S. It rained."
    assert sentence_at(text.index("Why")) == "“Why?” he asked."
    assert sentence_at(text.index("Next")) == "Next"
    assert sentence_at(text.index("New")) == "New"
    assert sentence_finder("")(0) == ""


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.dailytelegraph.com.au/news/x", "daily-telegraph-au"),
        ("https://news.ltn.com.tw/news/world/1", "liberty-times"),
        ("https://image.baidu.com/search/index?word=x", "baidu"),
        ("https://X.COM/someone", "twitter"),
        ("https://www.telegraph.co.uk/news/", "telegraph-uk"),
        ("https://stream.org.evil.example/", None),
        ("https://notupi.com/", None),
        ("https://abc.net.au.example.com/", None),
        ("http://[bad", None),
    ],
)
def test_outlet_for_url(registry: OutletRegistry, url: str, key: str | None) -> None:
    outlet = registry.outlet_for_url(url)
    assert (outlet.key if outlet else None) == key


def test_local_registry_overrides_fields_and_stands_in_for_outlets() -> None:
    registry = OutletRegistry.load(SHIPPED, LOCAL)

    upi = registry.outlets["upi"]
    assert upi.name == "United Press International"  # kept from the shipped file
    assert upi.domains == ("127.0.0.2",)
    assert registry.outlet_for_url("http://127.0.0.2:8402/x") is upi
    assert registry.outlet_for_url("https://www.upi.com/") is None
    # stand-ins take the names; the shipped outlets keep their domains
    assert named_keys(registry, ARTICLE.read_text(encoding="utf-8")) == [
        "localweb-stream",
        "localweb-telegraph",
        *ARTICLE_OUTLETS[2:],
    ]
    assert named_keys(registry, "London's Daily Telegraph") == ["localweb-telegraph"]
    assert registry.outlet_for_url("https://stream.org/a") is registry.outlets["the-stream"]
    gazette = registry.outlets["local-gazette"]
    assert registry.outlet_for_url("http://127.0.0.5:8402/x") is gazette
    assert registry.outlet_for_url("http://[::1]:8080/") is gazette
    assert registry.outlet_for_url("http://127.0.0.9/") is None
    assert named_keys(registry, "Read The Stream and the Gazette.") == [
        "localweb-stream",
        "local-gazette",
    ]


def test_outlets_whose_pages_script_builds_are_flagged_browser(registry: OutletRegistry) -> None:
    flagged = {outlet.key for outlet in registry if outlet.browser}
    assert {"baidu", "twitter", "rumble", *SCRIPTED_PLATFORMS} <= flagged
    assert not flagged & {"the-stream", "daily-telegraph-au", "abc-au", "scmp", "upi", "spytalk"}
    for url in (
        "https://image.baidu.com/search/acjson?word=x",
        "https://x.com/someone/status/1",
        "https://m.weibo.cn/status/1",
        "https://youtu.be/abc",
        "https://www.google.com/search?tbm=isch&q=x",
        "https://www.bing.com/images/search?q=x",
        "https://rumble.com/v1-x.html",
    ):
        outlet = registry.outlet_for_url(url)
        assert outlet is not None and outlet.browser, url
    assert not registry.outlets["scmp"].browser
    # the companies' names alone cite nothing; the platforms' names do
    assert named_keys(registry, "Google said; Bing agreed; Microsoft too") == []
    assert named_keys(registry, "on Weibo, in Google Images and on YouTube") == [
        "weibo",
        "google-images",
        "youtube",
    ]
    assert named_keys(registry, "董经纬的照片在微博上") == ["weibo"]


def test_browser_flag_is_read_and_layered(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[outlets.scmp]\nbrowser = true\n\n[outlets.baidu]\nbrowser = false\n\n"
        '[outlets.wire]\nname = "Wire"\ndomains = ["wire.example"]\n'
        'start_urls = ["https://wire.example/"]\n',
    )
    registry = OutletRegistry.load(SHIPPED, path)
    assert registry.outlets["scmp"].browser  # set by the later file, names kept
    assert registry.outlets["scmp"].name == "South China Morning Post"
    assert not registry.outlets["baidu"].browser  # unset by it
    assert not registry.outlets["wire"].browser  # the default
    assert registry.outlets["twitter"].browser  # untouched


def test_later_file_owns_a_shared_domain(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[outlets.wire]\nname = "Wire"\ndomains = ["upi.com"]\n'
        'start_urls = ["https://upi.com/wire/"]\n',
    )
    registry = OutletRegistry.load(SHIPPED, path)
    assert registry.outlet_for_url("https://www.upi.com/a") is registry.outlets["wire"]
    assert named_keys(registry, "UPI and the Wire") == ["upi", "wire"]


def test_names_in_unspaced_scripts(registry: OutletRegistry) -> None:
    assert named_keys(registry, "董经纬的照片已从百度删除。据自由時報报道") == [
        "baidu",
        "liberty-times",
    ]
    assert named_keys(registry, "Baidu百度") == ["baidu"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "extra.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = 'name = "X"\ndomains = ["x.org"]\nstart_urls = ["https://x.org/"]\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[outlets.x\nname=", "invalid TOML"),
        ('title = "x"\n', "expected only [outlets.<key>] tables"),
        ("[outlets.X]\n" + GOOD, "outlets.X: must be a table with a lowercase key"),
        ("[outlets.x]\n" + GOOD + "homepage = 1\n", "outlets.x.homepage: unknown field"),
        ('[outlets.x]\nname = ""\n', "outlets.x.name: must be a non-empty string"),
        ('[outlets.x]\naliases = "X"\n', "outlets.x.aliases: must be a list of non-empty strings"),
        ('[outlets.x]\ndomains = ["x.org", 3]\n', "outlets.x.domains: must be a list"),
        ("[outlets.x]\n" + GOOD + 'browser = "yes"\n', "outlets.x.browser: must be true or false"),
        ("[outlets.x]\n" + GOOD + "browser = 1\n", "outlets.x.browser: must be true or false"),
        ("[outlets.x]\n" + GOOD + "browser = [true]\n", "x.browser: must be true or false"),
        ('[outlets.x]\ndomains = ["x.org"]\nstart_urls = ["https://x.org/"]\n', "x.name: missing"),
        ('[outlets.x]\nname = "X"\nstart_urls = ["https://x.org/"]\n', "x.domains: must not be"),
        ('[outlets.x]\nname = "X"\ndomains = ["x.org"]\n', "x.start_urls: must not be empty"),
        (
            '[outlets.x]\nname = "X"\ndomains = ["www.x.org"]\nstart_urls = ["https://x.org/"]\n',
            "outlets.x.domains: 'www.x.org' is not a registered domain",
        ),
        (
            '[outlets.x]\nname = "X"\ndomains = ["x.org"]\nstart_urls = ["https://y.org/"]\n',
            "outlets.x.start_urls: 'https://y.org/' is not an http(s) URL on its domains",
        ),
        (
            '[outlets.x]\nname = "X"\ndomains = ["x.org"]\nstart_urls = ["ftp://x.org/"]\n',
            "outlets.x.start_urls: 'ftp://x.org/' is not an http(s) URL",
        ),
        (
            '[outlets.x]\nname = "X"\ndomains = ["x.org"]\nstart_urls = ["https://x.org/"]\n'
            '[outlets.y]\nname = "Y"\ndomains = ["x.org"]\nstart_urls = ["https://x.org/"]\n',
            "outlets.y.domains: 'x.org' already belongs to outlet 'x'",
        ),
        (
            '[outlets.x]\nname = "X"\ndomains = ["x.org"]\nstart_urls = ["https://x.org/"]\n'
            '[outlets.y]\nname = "Y"\naliases = ["the  x"]\ncase_sensitive_aliases = ["X"]\n'
            'domains = ["y.org"]\nstart_urls = ["https://y.org/"]\n',
            "outlets.y.aliases: 'x' already belongs to outlet 'x'",
        ),
    ],
)
def test_bad_registry_names_file_key_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SeedError) as raised:
        OutletRegistry.load(SHIPPED, path)
    assert str(raised.value).startswith(f"outlet registry {path}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_registry_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"outlet registry .*nope\.toml: file not found"):
        OutletRegistry.load(tmp_path / "nope.toml")


def test_a_registry_is_read_once_while_its_file_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "outlets.toml"
    entry = '[outlets.{key}]\nname = "{name}"\ndomains = ["{key}.example"]\n'
    entry += 'start_urls = ["https://{key}.example/"]\n'
    path.write_text(entry.format(key="one", name="One News"))
    first = OutletRegistry.load(path)
    assert OutletRegistry.load(path) is first  # the CLI's, then the spider's
    path.write_text(entry.format(key="two", name="Two News"))  # changed: read again
    assert list(OutletRegistry.load(path).outlets) == ["two"]
    path.write_text("[outlets.bad\n")
    for _ in range(2):  # an error is never kept: each load names it
        with pytest.raises(SeedError, match="invalid TOML"):
            OutletRegistry.load(path)
    path.unlink()
    with pytest.raises(SeedError, match="file not found"):
        OutletRegistry.load(path)
