"""Whether a page that answers 200 is in fact its host's "not found": the probe and the wording.

A page that was there in the previous crawl and now comes back 200 but changed a lot
(:func:`changed_a_lot`) may be a *soft 404*: the host answers a missing page with a
normal-looking one. Two signals say so, in this order:

- **the probe** (``by: "probe"``): the host's answer to a URL that certainly does not
  exist on the same path level (:func:`probe_url`) is compared with the page
  (:func:`same_answer`): the same payload, the same place after redirects, or text this
  similar once extracted, and the page is now what the host says for nothing there.
  This works in any language and for any wording.
- **the wording** (``by: "wording"``): the page's title and the start of its text read like
  a "not found" (:data:`NOT_FOUND_WORDING`, common wordings in English, Chinese,
  Japanese, Russian, Spanish, Arabic, French and German) and the earlier text did not.

Plain functions on texts and URLs, shared by the crawl that probes
(:mod:`crawler.probe`) and by :mod:`history.diff`, which reads the crawl's verdict and
falls back on the wording for crawls made without one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal, get_args
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from history.textdiff import paragraphs

By = Literal["probe", "wording"]
BYS: tuple[By, ...] = get_args(By)

#: a later text under this share of the earlier one's length is short: probe it
SHORT = 0.6
#: a later text whose paragraphs match the earlier ones less than this changed a lot
DIFFERENT = 0.5
#: a page whose words match the probe's answer's at least this much is that answer
PROBE_SIMILARITY = 0.8
#: how much of a page (title and text) the wording is looked for in
WORDING_SPAN = 600
#: words of a page compared with the probe's answer, at most (a "not found" is short)
COMPARED_WORDS = 400
TOKEN_LENGTH = 24
_HASH_SIZE = 8
_TOKEN_ALPHABET = string.ascii_lowercase + string.digits
# the extension a path's last segment keeps in its probe, so that the same handler answers
_EXTENSION = re.compile(r"\.(?:s?html?|php\d?|aspx?|jsp|cgi)$", re.IGNORECASE)
_APOSTROPHE = "['’]"

NOT_FOUND_WORDING = re.compile(
    "|".join(
        [
            # English
            r"\b(?:page|article|story|content|video|post|tweet|link)\b[^.\n]{0,40}"
            r"(?:\bnot found|no longer (?:available|exists?)|has been (?:removed|deleted)|"
            rf"been deleted|is unavailable|\bunavailable|does(?: not|n{_APOSTROPHE}t) exist|"
            rf"(?:could not|couldn{_APOSTROPHE}t|cannot|can{_APOSTROPHE}t) be found)",
            rf"\b(?:we|i) (?:could not|couldn{_APOSTROPHE}t|cannot|can{_APOSTROPHE}t) find "
            r"(?:that|the|this) page",
            r"\bnothing matched your search",
            r"\b404\b",
            # Chinese, simplified and traditional
            r"页面不存在|网页不存在|页面没有找到|页面未找到|找不到(?:该|此)?页面|您访问的页面"
            r"|内容不存在|文章不存在|微博不存在|已被(?:作者)?删除|内容已删除",
            r"頁面不存在|網頁不存在|找不到(?:該|此)?(?:網頁|頁面)|內容不存在|已被(?:作者)?刪除|已刪除",
            # Japanese
            r"ページ(?:が|は)見つかりません|ページは存在しません|このページは存在しません"
            r"|指定されたURLは存在しません|削除された可能性があります|記事は削除されました",
            # Russian
            r"страница не найдена|страница не существует|такой страницы нет"
            r"|запись удалена|материал удал[её]н|страница удалена",
            # Spanish
            r"página no encontrada|(?:esta|la) página no existe|no (?:se ha|hemos) "
            r"(?:encontrado|podido encontrar) la página|ya no está disponible"
            r"|ha sido eliminad[oa]",
            # Arabic
            r"الصفحة غير موجودة|هذه الصفحة غير موجودة|الصفحة المطلوبة غير موجودة"
            r"|لم يتم العثور على الصفحة|تم حذف (?:هذه )?(?:الصفحة|المقالة|التغريدة)",
            # French
            rf"page introuvable|page non trouvée|cette page n{_APOSTROPHE}existe pas"
            rf"|la page (?:que vous (?:recherchez|cherchez|demandez) )?(?:n{_APOSTROPHE}existe "
            r"pas|est introuvable)|n['’]est plus disponible|a été supprimée?",
            # German
            r"seite nicht gefunden|diese seite existiert nicht|seite (?:wurde )?nicht gefunden"
            r"|die (?:angeforderte|gesuchte) seite (?:existiert nicht|wurde nicht gefunden)"
            r"|nicht mehr verfügbar|wurde gelöscht",
        ]
    ),
    re.IGNORECASE,
)

# A word, or one character of a script written without spaces (Han, kana, Hangul).
_WORD = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W_]+")


def reads_not_found(title: str | None, text: str) -> bool:
    """Whether the page's title or the start of its text reads like a "not found"."""
    return bool(NOT_FOUND_WORDING.search(f"{title or ''}\n{text}"[:WORDING_SPAN]))


@dataclass(frozen=True)
class Fingerprint:
    """What is kept of a page's text to tell later whether it changed a lot: its length
    and a short hash of each paragraph (a recrawl keeps one per page of the crawl before)."""

    length: int
    hashes: bytes  # 8 bytes a paragraph, in order

    @classmethod
    def of(cls, text: str) -> Fingerprint:
        hashes = b"".join(
            hashlib.blake2b(p.encode(), digest_size=_HASH_SIZE).digest() for p in paragraphs(text)
        )
        return cls(len(text), hashes)

    def paragraphs(self) -> list[bytes]:
        return [self.hashes[i : i + _HASH_SIZE] for i in range(0, len(self.hashes), _HASH_SIZE)]


def changed_a_lot(old: Fingerprint, new: Fingerprint) -> bool:
    """A later text much shorter than the earlier one, or with mostly other paragraphs."""
    if old.length == 0:
        return False  # nothing was there to lose
    if new.length < SHORT * old.length:
        return True
    matcher = SequenceMatcher(None, old.paragraphs(), new.paragraphs(), autojunk=False)
    return matcher.ratio() < DIFFERENT


def random_token() -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def probe_level(url: str) -> str:
    """The host and path level a page's probe stands for: its URL up to its last segment."""
    parts = urlsplit(url)
    path = parts.path or "/"
    trimmed = path.rstrip("/")
    level = trimmed[: trimmed.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc.lower(), level, "", ""))


def probe_url(url: str, token: str) -> str:
    """``url`` with its last path segment replaced by ``token`` (keeping the segment's
    extension and a trailing slash), without query or fragment: a URL on the same level
    that no page has."""
    parts = urlsplit(url)
    level = urlsplit(probe_level(url)).path
    segment = (parts.path or "/")[len(level) :]
    slash = "/" if segment.endswith("/") else ""
    extension = _EXTENSION.search(segment.rstrip("/"))
    name = token + (extension.group(0) if extension else "")
    return urlunsplit((parts.scheme, parts.netloc, level + name + slash, "", ""))


@dataclass(frozen=True)
class Answer:
    """What a host answered to one URL: where it ended, and what extraction made of it."""

    url: str  # as asked for
    final_url: str
    status: int
    digest: str | None
    title: str | None
    text: str | None  # None: not known (a revisit whose text this crawl did not see)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _url_words(*urls: str) -> set[str]:
    """The words a URL's path and query spell, which its page may echo ("no results for")."""
    words: set[str] = set()
    for url in urls:
        parts = urlsplit(url)
        words.update(w for w in _words(unquote_plus(f"{parts.path} {parts.query}")))
    return words


def _compared(answer: Answer) -> list[str]:
    own = _url_words(answer.url, answer.final_url)
    text = f"{answer.title or ''}\n{answer.text or ''}"
    return [w for w in _words(text) if w not in own][:COMPARED_WORDS]


def text_similarity(page: Answer, probe: Answer) -> float:
    """How alike the two answers' titles and texts are, word by word (a character for
    scripts without spaces), less the words of their own URLs; 0 when either is empty."""
    a, b = _compared(page), _compared(probe)
    if not a or not b:
        return 0.0
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < PROBE_SIMILARITY or matcher.quick_ratio() < PROBE_SIMILARITY:
        return matcher.quick_ratio()
    return matcher.ratio()


def _redirected_to_same_place(page: Answer, probe: Answer) -> bool:
    """Both were sent elsewhere, to the same page (a search page may differ in its query)."""
    if page.final_url == page.url or probe.final_url == probe.url:
        return False
    a, b = urlsplit(page.final_url), urlsplit(probe.final_url)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


def same_answer(page: Answer, probe: Answer) -> bool:
    """Whether ``page`` is now what its host answers for a URL that does not exist."""
    if page.digest is not None and page.digest == probe.digest:
        return True
    if _redirected_to_same_place(page, probe):
        return True
    if page.text is None or probe.text is None:
        return False
    return text_similarity(page, probe) >= PROBE_SIMILARITY
