"""A search engine's result page read as data: its results in order, the count it shows,
and its notices.

An engine's parsing rules (:class:`SearchRules`, from the engine registry: see
``seeds/README.md``) are CSS selectors, each optionally ending in ``@attribute``:
``results`` selects each result's element; within it ``link``, ``title``, ``snippet``,
``thumbnail`` and ``target`` (where the page shows the URL a wrapped link leads to, e.g.
``@mu`` on Baidu's results) select the parts, a selector of ``@name`` alone reading the
result element's own attribute. A rule may list several selectors: the first that gives a
value wins. ``target_param`` names the query parameter of a redirect link that holds the
target (``uddg`` in DuckDuckGo's ``//duckduckgo.com/l/?uddg=...``).

Where the rules find no result, the generic fallback takes the links of the results area
(``area``, else the first of :data:`GENERIC_AREAS` the page has) that lead off the
engine's site; the page says which of the two read it (``parser``). A page neither reads
is ``unparsed``: flagged, never taken for an empty result list.

Notices are found in the page's text outside its results (a snippet quoting a notice is
no notice): :data:`FILTERED` (the engine says results were withheld: Baidu's and Weibo's
"根据相关法律法规和政策，部分搜索结果未予显示", Google's and Bing's removal notices),
:data:`NO_RESULTS`, :data:`CAPTCHA` ("unusual traffic", Baidu's 安全验证) and an engine's
own ``login`` patterns (a login wall), each list extended by the engine's rules. A CAPTCHA
or a login wall is looked for only on a page without results, and is no evidence of
anything. Plain Python (selectolax's Lexbor, as a browser's HTML5 parser builds a page);
reads no settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from pipelines.urls import absolute_url, base_url

Outcome = Literal["results", "no-results", "captcha", "login", "error", "unparsed"]
Notice = Literal["filtered", "no-results", "captcha", "login"]
Parser = Literal["rules", "generic"]

FILTERED = (
    r"根据相关法律法规和政策[^。\n]{0,40}未予显示",
    r"根據相關法律法規和政策[^。\n]{0,40}未予顯示",
    r"\bsome results (?:may )?(?:have been|were|are) (?:removed|withheld|hidden)",
    r"\bwe have removed \d+ results?\b",
    r"\bresults? (?:have been|has been|were) removed (?:under|in response)",
)
NO_RESULTS = (
    r"抱歉[，,]?\s*没有找到",
    r"没有找到(?:与|相关)",
    r"抱歉[，,]?\s*未找到",
    r"\bdid not match any (?:documents|results)\b",
    r"\bno results (?:found|for)\b",
    r"\bthere are no results for\b",
    r"^\s*no results\.?\s*$",
)
CAPTCHA = (
    r"\bunusual traffic from your computer network\b",
    r"\bour systems have detected unusual traffic\b",
    r"百度安全验证",
    r"请输入验证码",
    r"\bverify (?:that )?you(?:'re| are) (?:a )?human\b",
    r"\bare you a robot\b",
    r"\bbots use duckduckgo too\b",
    r"\bcaptcha\b",
)
#: where the generic fallback looks for results, in this order, when the rules give no area
GENERIC_AREAS = ("main", "[role=main]", "#search", "#results", "#content_left", "#content", "body")
#: query parameters of a redirect link that hold its target, tried by the generic fallback
REDIRECT_PARAMS = ("uddg", "url", "q", "u", "target")
_HIDDEN = ["script", "style", "noscript", "template"]
_ATTRIBUTE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")
# A number as engines print counts: 1,234,567 / 1.234.567 / 1 234 567, or a decimal,
# maybe followed by 万 (ten thousand) or 亿 (a hundred million).
_NUMBER = re.compile(r"\d+(?:[,.\u00a0\u202f' ]\d+)*\s*[万亿]?")
_GROUPED = re.compile(r"\d{1,3}(?:([,.\u00a0\u202f' ])\d{3})(?:\1\d{3})*")
_UNITS = {"万": 10_000, "亿": 100_000_000}
_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True)
class SearchRules:
    """How to read one engine's result page (each rule: selectors, ``@attribute``)."""

    results: tuple[str, ...] = ()
    link: tuple[str, ...] = ("a@href",)
    title: tuple[str, ...] = ()  # default: the link's text
    snippet: tuple[str, ...] = ()
    thumbnail: tuple[str, ...] = ("img@src",)
    target: tuple[str, ...] = ()
    target_param: str = ""
    count: tuple[str, ...] = ()
    area: tuple[str, ...] = ()
    filtered: tuple[str, ...] = ()
    no_results: tuple[str, ...] = ()
    captcha: tuple[str, ...] = ()
    login: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchPage:
    """A page of a search's results, as a crawl asked for it."""

    engine: str
    query: str
    page: int  # 1 for the first page of results
    rank_offset: int  # results on the pages before this one
    rules: SearchRules = field(default_factory=SearchRules)
    browser: bool = False  # the engine's result pages are built by script

    def log_fields(self) -> dict[str, Any]:
        """What the crawl log says of it (the rules are the registry's)."""
        return {"engine": self.engine, "query": self.query, "page": self.page}


@dataclass(frozen=True)
class Result:
    url: str  # as the engine links it (a thumbnail's URL where a result links nowhere)
    target: str | None  # where a wrapped link leads, when the page shows it
    title: str | None
    snippet: str | None
    thumbnail: str | None


@dataclass
class ParsedPage:
    outcome: Outcome
    results: list[Result] = field(default_factory=list)
    count: int | None = None
    count_text: str | None = None
    notices: list[Notice] = field(default_factory=list)
    notice_texts: list[str] = field(default_factory=list)
    parser: Parser | None = None
    reason: str | None = None  # why a page is unparsed or in error


def split_selector(spec: str) -> tuple[str, str | None]:
    """``"h3 a@href"`` -> ``("h3 a", "href")``; ``"@mu"`` -> ``("", "mu")``; ``"h3"`` -> ``("h3", None)``."""
    head, sep, attribute = spec.rpartition("@")
    if sep and _ATTRIBUTE.fullmatch(attribute) and "]" not in attribute:
        return head.strip(), attribute
    return spec.strip(), None


def check_selector(spec: str) -> None:
    """ValueError if Lexbor cannot read the selector of ``spec``."""
    selector, _ = split_selector(spec)
    if not selector:
        return
    try:
        LexborHTMLParser("<p></p>").css(selector)
    except SelectolaxError:
        raise ValueError(f"{spec!r} is not a CSS selector Lexbor reads") from None


def check_pattern(pattern: str) -> None:
    """ValueError if ``pattern`` is no regular expression."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None


@cache
def _patterns(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE | re.MULTILINE)


def parse_count(text: str) -> int | None:
    """The largest number in ``text``, as an engine prints a result count, or None.

    "百度为您找到相关结果约100,000,000个" -> 100000000; "约1.2万条" -> 12000; "About
    1,230 results (0.45 seconds)" -> 1230; "Page 2 of about 1,230 results" -> 1230.
    """
    found: list[float] = []
    for match in _NUMBER.finditer(text):
        token = match.group().strip()
        unit = _UNITS.get(token[-1], 1)
        digits = token.rstrip("万亿").strip()
        if _GROUPED.fullmatch(digits) and unit == 1:
            value = float(re.sub(r"\D", "", digits))
        else:
            try:
                value = float(re.sub(r"[\s'\u00a0\u202f]", "", digits).replace(",", "."))
            except ValueError:
                continue
        found.append(value * unit)
    return int(max(found)) if found else None


class _Page:
    """One parsed result page and what is known of it."""

    def __init__(self, html: str, url: str, encoding: str) -> None:
        self.tree = LexborHTMLParser(html)
        self.encoding = encoding
        base = self.tree.css_first("base[href]")
        self.base = base_url(url, base.attributes.get("href") if base else None)
        self.host = _site(urlsplit(url).hostname or "")

    def absolute(self, value: str | None) -> str | None:
        if not value or value.strip().startswith("data:"):
            return None
        return absolute_url(self.base, value, self.encoding)

    def value(self, node: LexborNode, specs: Iterable[str], *, attribute: str | None) -> str | None:
        """The first value ``specs`` give in ``node``: an attribute, else the text."""
        for spec in specs:
            selector, named = split_selector(spec)
            found = node if not selector else node.css_first(selector)
            if found is None:
                continue
            name = named or attribute
            raw = found.attributes.get(name) if name else found.text(separator=" ", strip=True)
            text = " ".join((raw or "").split())
            if text and not text.startswith("data:"):
                return text
        return None

    def result(self, node: LexborNode, rules: SearchRules) -> Result | None:
        link = self.absolute(self.value(node, rules.link, attribute="href"))
        thumbnail = self.absolute(self.value(node, rules.thumbnail, attribute="src"))
        url = link or thumbnail
        if url is None:
            return None
        shown = self.value(node, rules.target, attribute=None)
        # a URL as shown in text may lack its scheme ("www.example.org/a..."): not a target
        target = absolute_url("", shown) if shown and _ABSOLUTE.match(shown) else None
        if target is None and link is not None and rules.target_param:
            target = _unwrapped(link, (rules.target_param,))
        title = self.value(node, rules.title, attribute=None)
        if title is None and rules.link:
            title = self.value(node, [split_selector(s)[0] for s in rules.link], attribute=None)
        snippet = self.value(node, rules.snippet, attribute=None)
        return Result(url, target, title, snippet, thumbnail)

    def by_rules(self, rules: SearchRules) -> tuple[list[Result], list[LexborNode]]:
        for selector in rules.results:
            nodes = self.tree.css(selector)
            results = [r for r in (self.result(n, rules) for n in nodes) if r is not None]
            if results:
                return results, nodes
        return [], []

    def generic(self, rules: SearchRules) -> list[Result]:
        """Links of the results area that lead off the engine's site, each once."""
        area = next(
            (a for s in (*rules.area, *GENERIC_AREAS) if (a := self.tree.css_first(s))), None
        )
        if area is None:
            return []
        params = (rules.target_param, *REDIRECT_PARAMS) if rules.target_param else REDIRECT_PARAMS
        found: dict[str, Result] = {}
        for anchor in area.css("a[href]"):
            url = self.absolute(anchor.attributes.get("href"))
            if url is None:
                continue
            target = _unwrapped(url, params) if self.own(url) else None
            if self.own(target or url) or (target or url) in found:
                continue
            title = " ".join(anchor.text(separator=" ", strip=True).split()) or None
            image = anchor.css_first("img")
            thumbnail = self.absolute(image.attributes.get("src")) if image else None
            if title or thumbnail:
                found[target or url] = Result(url, target, title, None, thumbnail)
        return list(found.values())

    def own(self, url: str) -> bool:
        return _site(urlsplit(url).hostname or "") == self.host

    def count(self, rules: SearchRules) -> tuple[int | None, str | None]:
        for selector in rules.count:
            node = self.tree.css_first(selector)
            text = " ".join(node.text(separator=" ", strip=True).split()) if node else ""
            if text:
                return parse_count(text), text
        return None, None

    def text(self, without: list[LexborNode]) -> str:
        """The page's title and visible text, less ``without`` (the results)."""
        for node in without:
            node.decompose()
        title = self.tree.css_first("title")
        self.tree.strip_tags(_HIDDEN)
        body = self.tree.body
        lines = [title.text(strip=True) if title else ""]
        lines.append(body.text(separator="\n", strip=True) if body else "")
        return "\n".join(lines)


def _site(host: str) -> str:
    """The part of a host name that says whose site it is: an IP address whole, else its
    last two labels (``image.baidu.com`` and ``www.baidu.com`` are both ``baidu.com``)."""
    if host.replace(".", "").isdigit() or ":" in host:
        return host
    return ".".join(host.split(".")[-2:])


def _unwrapped(url: str, params: Iterable[str]) -> str | None:
    """The http(s) URL a redirect link carries in one of ``params``, or None."""
    query = parse_qs(urlsplit(url).query)
    for param in params:
        for value in query.get(param, []):
            if value.startswith(("http://", "https://")):
                return absolute_url("", value)
    return None


def _notices(text: str, rules: SearchRules, results: bool) -> list[tuple[Notice, str]]:
    kinds: list[tuple[Notice, tuple[str, ...]]] = [
        ("filtered", FILTERED + rules.filtered),
        ("no-results", NO_RESULTS + rules.no_results),
    ]
    if not results:
        kinds += [("captcha", CAPTCHA + rules.captcha), ("login", rules.login)]
    found = []
    for kind, patterns in kinds:
        if patterns and (match := _patterns(patterns).search(text)):
            found.append((kind, " ".join(match.group().split())))
    return found


def parse_search_page(
    body: bytes, *, url: str, content_type: str, status: int, rules: SearchRules
) -> ParsedPage:
    """Read a result page (its HTML as fetched, or the DOM a browser rendered)."""
    # here: pipelines.payload imports trafilatura, which the engine registry does not need
    from pipelines.payload import NotHtml, Undecodable, decode_html

    try:
        html, encoding = decode_html(body, content_type)
    except (NotHtml, Undecodable) as exc:
        return ParsedPage("error" if status >= 400 else "unparsed", reason=f"not HTML: {exc}")
    page = _Page(html, url, encoding)
    results, nodes = page.by_rules(rules)
    parser: Parser | None = "rules" if results else None
    count, count_text = page.count(rules)
    notices = _notices(page.text(nodes), rules, bool(results))
    kinds = [kind for kind, _ in notices]
    blocked = next((k for k in kinds if k in ("captcha", "login")), None)
    ok = 200 <= status < 300
    if not results and blocked is None and ok and "no-results" not in kinds:
        results = page.generic(rules)
        parser = "generic" if results else None
    parsed = ParsedPage(
        "results",
        results,
        count,
        count_text,
        kinds,
        [text for _, text in notices],
        parser,
    )
    if blocked is not None:
        parsed.outcome, parsed.results, parsed.parser = blocked, [], None
    elif not ok:
        parsed.outcome, parsed.reason = "error", f"HTTP status {status}"
        parsed.results, parsed.parser = [], None
    elif not results:
        if "no-results" in kinds or "filtered" in kinds:
            parsed.outcome = "no-results"
        else:
            parsed.outcome = "unparsed"
            parsed.reason = "neither the engine's rules nor the generic fallback found results"
    return parsed
