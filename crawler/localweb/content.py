"""What the local cited web holds: its outlets, pages and images, and what version 2 changes.

Declarations only, written by hand: they are both what ``responses`` serves and the truth
that ``truth`` hands to tests. Pages are UTF-8 templates under ``site/<outlet>/``, in which
``{base:<outlet>}`` stands for that outlet's base URL (the port is known only at start-up).
Each outlet also serves ``/robots.txt``, ``/favicon.ico`` and its stylesheet.

Three pages are built by script, as their real counterparts are (``SCRIPTED``): an image
search whose results arrive as JSON, a post whose text does, and a video page. Their HTML
is a shell, the same in both versions; what only a browser loads (scripts, JSON, the
images script inserts, the video) is declared apart from what a crawler without one sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Transfer = Literal["length", "gzip", "chunked"]
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Outlet:
    key: str
    name: str
    aliases: tuple[str, ...]
    stylesheet: str
    colour: RGB
    case_sensitive_aliases: tuple[str, ...] = ()
    disallow: tuple[str, ...] = ()
    browser: bool = False  # flagged ``browser = true`` in the registry: script builds pages


# In address order: the first outlet listens on ``first_address``, the next on the one after.
OUTLETS = (
    Outlet("blog", "We Love Trump", ("We Love Trump", "WeLoveTrump"),
           "/wp-content/themes/wlt/style.css", (178, 34, 52)),
    Outlet("telegraph", "The Daily Telegraph",
           ("The Daily Telegraph", "Daily Telegraph Australia", "Daily Telegraph in Sydney",
            "Daily Telegraph"),
           "/static/css/article.css", (10, 74, 140)),
    Outlet("stream", "The Stream", ("stream.org",), "/wp-content/themes/stream/style.css",
           (29, 94, 58), case_sensitive_aliases=("The Stream",)),
    Outlet("baidu", "Baidu", ("Baidu", "百度"), "/static/imgsearch.css", (41, 50, 225),
           browser=True),
    Outlet("ltn", "Liberty Times", ("Liberty Times", "Taiwan's Liberty Times", "自由時報"),
           "/css/ltn.css", (193, 39, 45)),
    Outlet("upi", "UPI", ("United Press International",), "/css/upi.css", (228, 0, 43),
           case_sensitive_aliases=("UPI",)),
    Outlet("spytalk", "SpyTalk", ("SpyTalk",), "/assets/spytalk.css", (51, 51, 102),
           disallow=("/private/",)),
    Outlet("scmp", "South China Morning Post", ("South China Morning Post",), "/static/scmp.css",
           (0, 18, 70), case_sensitive_aliases=("SCMP",)),
    Outlet("rumble", "Rumble", (), "/css/rumble.css", (133, 199, 66),
           case_sensitive_aliases=("Rumble",), browser=True),
    Outlet("twitter", "Twitter", ("Twitter", "推特"), "/responsive-web/client-web/main.css",
           (29, 155, 240), browser=True),
)  # fmt: skip
STYLESHEETS = {outlet.key: outlet.stylesheet for outlet in OUTLETS}

SEED = (
    "/2021/06/21/senior-chinese-counterintelligence-official-missing-due-to-rumored-u-s-defection/"
)
STREAM = "/2021/06/17/what-dong-jingwei-may-have-given-the-dia/"
TELEGRAPH = "/news/dong-jingwei-defection"
TELEGRAPH_RELATED = (
    "/news/shi-zhengli-defection-rumour-debunked",
    "/news/g7-tedros-wuhan-lab-leak",
)
BAIDU_SEARCH = "/search/index?tn=baiduimage&word=%E8%91%A3%E7%BB%8F%E7%BA%AC"  # word=董经纬
BAIDU_PHOTO = "/it/dong-jingwei.png"
LTN = "/news/world/breakingnews/3569513"
UPI = "/Top_News/World-News/2021/06/21/china-Dong-Jingwei-defection-rumors/6541624287000/"
SPYTALK = "/p/exclusive-chinas-spy-catcher-in-chief-defected"
SPYTALK_PRIVATE = "/private/dong-yang-flight-manifest"
SCMP_SHORT = "/story/dong-jingwei"
SCMP = (
    "/news/china/politics/article/3137248"
    "/chinese-spy-catcher-dong-jingwei-reappears-amid-defection-rumours"
)
RUMBLE_GONE = "/v2kq1xa-dong-jingwei-defection.html"
# The script-built pages, and what their scripts fetch.
BAIDU_IMAGES = (  # word=董经纬照片 ("Dong Jingwei photo")
    "/search/index?tn=baiduimage&ipn=r&word=%E8%91%A3%E7%BB%8F%E7%BA%AC%E7%85%A7%E7%89%87"
)
BAIDU_IMAGES_JSON = (
    "/search/acjson?tn=resultjson_com&ipn=rj"
    "&word=%E8%91%A3%E7%BB%8F%E7%BA%AC%E7%85%A7%E7%89%87&pn=0&rn=30"
)
BAIDU_IMAGES_PHOTO = "/it/u/2563046281.png"
# The image search for the name alone (word=董经纬), which the demo watches as a search
# seed (`search baidu-images 董经纬`): the same shell, its own results; served for that word
# only and outside the tables above (no page cites it: a crawl of the seed never meets it).
NAME = "董经纬"
BAIDU_NAME_SEARCH = "/search/index?tn=baiduimage&ipn=r&word=%E8%91%A3%E7%BB%8F%E7%BA%AC"
BAIDU_NAME_JSON = (
    "/search/acjson?tn=resultjson_com&ipn=rj&word=%E8%91%A3%E7%BB%8F%E7%BA%AC&pn=0&rn=30"
)
# (image, caption), in order: the scripted results' photos and the plain results' ones.
BAIDU_NAME_RESULTS = (
    (BAIDU_IMAGES_PHOTO, "董经纬 国家安全部副部长"),
    (BAIDU_PHOTO, "董经纬 2020年9月 国家安全部"),
    ("/it/u/1730582214.png", "国家安全部 反间谍宣传"),
    ("/it/mss-building.png", "国家安全部"),
    ("/it/u/3019558376.png", "国家安全工作座谈会 6月18日"),
)
# Version 2 of that search: two photos of him gone, the count lowered, and the notice that
# results were withheld under the law.
V2_NAME_REMOVED = (BAIDU_IMAGES_PHOTO, BAIDU_PHOTO)
FILTERED_NOTICE = "根据相关法律法规和政策，部分搜索结果未予显示"
TWEET = "/hanlianchao/status/1406215417937752066"
TWEET_SCRIPT = "/responsive-web/client-web/main.js"
TWEET_SCRIPT_FILE = "twitter/main.js"
TWEET_JSON = "/i/api/1.1/statuses/show.json?id=1406215417937752066&tweet_mode=extended"
TWEET_AVATAR = "/profile_images/1263915471/han-lianchao_normal.png"
TWEET_PHOTO = "/media/E4NqW2xVcAE1dJp.png"
RUMBLE_VIDEO = "/v2ks0pe-dong-jingwei-june-18-meeting.html"
RUMBLE_CLIP = "/video/dong-jingwei-0618.webm"
# WebM (VP8, 160x90, 2 s, 11.5 KB), recorded from a canvas by Chromium's MediaRecorder.
RUMBLE_CLIP_FILE = "rumble/dong-jingwei-0618.webm"
BLOG_LOGO = "/wp-content/uploads/2021/06/logo.png"

PUBLISHED = "Mon, 21 Jun 2021 08:00:00 GMT"
EDITED = "Wed, 23 Jun 2021 09:30:00 GMT"

# (outlet, path, width, height, colour): every image differs in size, colour or noise.
IMAGES = (
    ("blog", BLOG_LOGO, 120, 30, (178, 34, 52)),
    ("blog", "/wp-content/uploads/2021/06/dong-jingwei-featured.png", 64, 48, (120, 90, 70)),
    ("telegraph", "/images/dong-jingwei.png", 60, 45, (110, 85, 60)),
    ("telegraph", "/images/dong-jingwei-480.png", 48, 36, (112, 86, 62)),
    ("telegraph", "/images/dong-jingwei-960.png", 80, 60, (114, 88, 64)),
    ("telegraph", "/images/dong-jingwei-wide.png", 96, 40, (116, 90, 66)),
    ("telegraph", "/images/dong-jingwei-wide@2x.png", 112, 47, (118, 92, 68)),
    ("telegraph", "/images/dong-jingwei-og.png", 72, 38, (100, 80, 60)),
    ("telegraph", "/images/dong-jingwei-card.png", 56, 56, (90, 75, 55)),
    ("telegraph", "/images/shi-zhengli.png", 50, 40, (60, 120, 160)),
    ("telegraph", "/images/tedros-g7.png", 52, 40, (40, 140, 90)),
    ("stream", "/wp-content/uploads/huckabee.png", 40, 40, (150, 130, 110)),
    ("baidu", BAIDU_PHOTO, 50, 66, (105, 82, 58)),
    ("baidu", "/it/mss-building.png", 50, 40, (140, 140, 150)),
    ("baidu", "/it/meeting-0618.png", 60, 40, (170, 40, 40)),
    ("ltn", "/images/ltn-dong-jingwei.png", 50, 40, (108, 84, 61)),
    ("upi", "/i/upi-dong.png", 64, 40, (102, 79, 57)),
    ("spytalk", "/img/spytalk-header.png", 90, 30, (51, 51, 102)),
    ("scmp", "/img/mss-seminar.png", 64, 36, (200, 180, 120)),
)
# Images only script puts on a page: a crawler without a browser never finds them.
SCRIPTED_IMAGES = (
    ("baidu", BAIDU_IMAGES_PHOTO, 50, 66, (98, 78, 60)),
    ("baidu", "/it/u/1730582214.png", 60, 40, (150, 40, 40)),
    ("baidu", "/it/u/3019558376.png", 64, 40, (120, 120, 135)),
    ("twitter", TWEET_AVATAR, 48, 48, (70, 60, 55)),
    ("twitter", TWEET_PHOTO, 60, 80, (96, 76, 58)),
)
# The image search's results (image, caption, date), in order.
BAIDU_RESULTS = (
    (BAIDU_IMAGES_PHOTO, "董经纬 国家安全部副部长 2020年9月", "2021-06-19 08:12"),
    ("/it/u/1730582214.png", "国家安全部 反间谍宣传", "2021-04-15 10:00"),
    ("/it/u/3019558376.png", "国家安全工作座谈会 6月18日", "2021-06-18 21:40"),
)
TWEET_USER = ("Han Lianchao", "hanlianchao")
TWEET_CREATED = "Sat Jun 19 03:12:44 +0000 2021"
TWEET_TEXT = (
    "If the reports are true, the defection of Dong Jingwei, vice minister of state security"
    " and the man in charge of catching foreign spies, is really a big bomb. This photo of"
    " him went round Chinese social media today. He has not been seen in public since"
    " September 2020."
)


@dataclass(frozen=True)
class Page:
    """An HTML page; ``images`` are its requisites besides the stylesheet and favicon."""

    outlet: str
    path: str
    template: str
    title: str
    images: tuple[str, ...] = ()
    charset: str = "utf-8"
    charset_in: Literal["header", "meta"] = "header"
    transfer: Transfer = "length"
    headers: tuple[tuple[str, str], ...] = ()
    modified: str = PUBLISHED


_TELEGRAPH_IMAGES = (  # <img src>, its srcset, the <picture> source srcset, og and twitter
    "/images/dong-jingwei.png", "/images/dong-jingwei-480.png", "/images/dong-jingwei-960.png",
    "/images/dong-jingwei-wide.png", "/images/dong-jingwei-wide@2x.png",
    "/images/dong-jingwei-og.png", "/images/dong-jingwei-card.png",
)  # fmt: skip
PAGES = (
    Page("blog", "/", "blog/index.html", "We Love Trump", (BLOG_LOGO,)),
    Page("blog", SEED, "blog/seed.html",
         "Senior Chinese Counterintelligence Official Missing Due to Rumored U.S. Defection"
         " - We Love Trump",
         (BLOG_LOGO, "/wp-content/uploads/2021/06/dong-jingwei-featured.png"),
         headers=(("Set-Cookie", "wlt_visitor=6f1c2a9e; Path=/; Max-Age=31536000; SameSite=Lax"),
                  ("Set-Cookie", "wlt_consent=pending; Path=/; Max-Age=15552000; SameSite=Lax"))),
    Page("blog", "/category/politics/", "blog/politics.html", "Politics - We Love Trump"),
    Page("blog", "/disclosure/", "blog/disclosure.html", "Disclosure - We Love Trump"),
    Page("blog", "/privacy-policy/", "blog/privacy.html", "Privacy Policy - We Love Trump"),
    Page("blog", "/author/staff/", "blog/author.html", "WLT Staff - We Love Trump"),
    Page("telegraph", "/", "telegraph/index.html", "The Daily Telegraph | Sydney news"),
    Page("telegraph", TELEGRAPH, "telegraph/dong-jingwei-defection.html",
         "Chinese spy boss Dong Jingwei's rumoured defection to the US | Daily Telegraph",
         _TELEGRAPH_IMAGES,
         headers=(("Link", f'<{{base:telegraph}}{TELEGRAPH}>; rel="canonical"'),
                  ("Link", "</static/css/article.css>; rel=preload; as=style"))),
    Page("telegraph", TELEGRAPH_RELATED[0], "telegraph/shi-zhengli.html",
         "Bogus claim covid scientist Shi Zhengli swapped sides | Daily Telegraph",
         ("/images/shi-zhengli.png",)),
    Page("telegraph", TELEGRAPH_RELATED[1], "telegraph/g7-tedros.html",
         "WHO chief refuses to rule out Wuhan lab leak at G7 | Daily Telegraph",
         ("/images/tedros-g7.png",)),
    Page("stream", "/", "stream/index.html", "The Stream"),
    Page("stream", STREAM, "stream/dong-jingwei.html",
         "What Dong Jingwei May Have Given the DIA - The Stream",
         ("/wp-content/uploads/huckabee.png",)),
    Page("baidu", "/", "baidu/index.html", "百度图片-发现多彩世界", charset="gb18030"),
    Page("baidu", BAIDU_SEARCH, "baidu/search.html", "董经纬_百度图片搜索",
         (BAIDU_PHOTO, "/it/mss-building.png", "/it/meeting-0618.png"), charset="gb18030"),
    Page("ltn", "/", "ltn/index.html", "自由時報電子報", charset="big5", charset_in="meta"),
    Page("ltn", LTN, "ltn/3569513.html",
         "傳中國國安部副部長董經緯叛逃美國 - 國際 - 自由時報電子報",
         ("/images/ltn-dong-jingwei.png",), charset="big5", charset_in="meta"),
    Page("upi", "/", "upi/index.html", "UPI.com - Top News"),
    Page("upi", UPI, "upi/dong-jingwei.html",
         "Rumors swirl about whereabouts of senior Chinese security official - UPI.com",
         ("/i/upi-dong.png",), transfer="gzip"),
    Page("spytalk", "/", "spytalk/index.html", "SpyTalk", ("/img/spytalk-header.png",)),
    Page("spytalk", SPYTALK, "spytalk/post.html",
         "Exclusive: China's spy catcher-in-chief defected, sources say - SpyTalk",
         ("/img/spytalk-header.png",), transfer="chunked"),
    Page("spytalk", SPYTALK_PRIVATE, "spytalk/private.html",
         "Subscribers only: the flight manifest - SpyTalk"),
    Page("scmp", "/", "scmp/index.html", "South China Morning Post"),
    Page("scmp", SCMP, "scmp/article.html",
         "Chinese spy catcher Dong Jingwei reappears amid defection rumours"
         " | South China Morning Post",
         ("/img/mss-seminar.png",)),
    Page("rumble", "/", "rumble/index.html", "Rumble - Videos"),
    Page("rumble", RUMBLE_VIDEO, "rumble/meeting.html",
         "Is this Dong Jingwei? State TV footage of the June 18 security meeting - Rumble"),
    Page("baidu", BAIDU_IMAGES, "baidu/images.html", "董经纬照片_百度图片搜索"),
    Page("twitter", "/", "twitter/index.html", "Twitter. It's what's happening / Twitter"),
    Page("twitter", TWEET, "twitter/status.html", "Twitter"),
)  # fmt: skip


@dataclass(frozen=True)
class Scripted:
    """A page of ``PAGES`` that a browser builds: what it loads and what script puts on it.

    ``loads``: every other path the browser requests for it (stylesheet, favicon, scripts,
    JSON, images, video; the order it asks in varies); ``images``: those that script
    inserts, in document order; ``text``: what script writes; ``title``: the document's
    title once rendered. All are on the page's own outlet.
    """

    outlet: str
    path: str
    kind: Literal["image-search", "post", "video"]
    title: str
    loads: tuple[str, ...]
    images: tuple[str, ...] = ()
    text: str = ""
    video: str | None = None


SCRIPTED = (
    Scripted("baidu", BAIDU_IMAGES, "image-search", "董经纬照片_百度图片搜索",
             ("/static/imgsearch.css", "/favicon.ico", BAIDU_IMAGES_JSON,
              *(image for image, _, _ in BAIDU_RESULTS)),
             images=tuple(image for image, _, _ in BAIDU_RESULTS)),
    Scripted("twitter", TWEET, "post", "Han Lianchao (@hanlianchao) on Twitter",
             ("/responsive-web/client-web/main.css", "/favicon.ico", TWEET_SCRIPT, TWEET_JSON,
              TWEET_AVATAR, TWEET_PHOTO),
             images=(TWEET_AVATAR, TWEET_PHOTO), text=TWEET_TEXT),
    Scripted("rumble", RUMBLE_VIDEO, "video",
             "Is this Dong Jingwei? State TV footage of the June 18 security meeting - Rumble",
             ("/css/rumble.css", "/favicon.ico", RUMBLE_CLIP), video=RUMBLE_CLIP),
)  # fmt: skip

# The seed body's citations in document order, and every other link on the seed page.
CITED = (("stream", STREAM), ("telegraph", TELEGRAPH), ("rumble", RUMBLE_GONE),
         ("rumble", RUMBLE_VIDEO), ("scmp", SCMP_SHORT), ("baidu", BAIDU_SEARCH),
         ("twitter", TWEET), ("baidu", BAIDU_IMAGES), ("upi", UPI), ("spytalk", SPYTALK),
         ("ltn", LTN), ("spytalk", SPYTALK_PRIVATE))  # fmt: skip
NOT_CITED = ("#main", "/", "/disclosure/", "/category/politics/", "/author/staff/",
             "https://www.facebook.com/sharer/sharer.php?u={base:blog}" + SEED,
             "https://twitter.com/intent/tweet?url={base:blog}" + SEED,
             "mailto:?subject=Senior%20Chinese%20Counterintelligence%20Official%20Missing",
             "/privacy-policy/")  # fmt: skip


# Permanent redirects (301) within an outlet, in both versions.
REDIRECTS = {("scmp", SCMP_SHORT): SCMP}

# Version 2: pages re-rendered from another template, resources gone (404), pages that now
# redirect (302) to another path of their outlet, and the image each image-removed page lost.
V2_EDITED = {("stream", STREAM): "stream/dong-jingwei.v2.html",
             ("baidu", BAIDU_SEARCH): "baidu/search.v2.html"}  # fmt: skip
V2_REMOVED = (("baidu", BAIDU_PHOTO), ("ltn", LTN))
V2_REDIRECTED = {("upi", UPI): "/"}
V2_IMAGE_REMOVED = {("baidu", BAIDU_SEARCH): BAIDU_PHOTO}
# Image search results that version 2's JSON no longer lists, by page; the image itself
# still answers 200, as a photo dropped from Baidu's results stays on its image servers.
V2_SCRIPTED_IMAGE_REMOVED = {("baidu", BAIDU_IMAGES): BAIDU_IMAGES_PHOTO}
# What each edited page (but an image-removed one) lost, gained, and had reworded.
V2_EDITS = {("stream", STREAM): {
    "removed": ["The Defense Intelligence Agency is said to have debriefed him at a safe house"
                " in Virginia."],
    "added": ["Update: Chinese state media now say Dong chaired a security meeting on June 18,"
              " but no photo of him at the meeting has been published."],
    "changed": [["According to reports, Dong flew from Hong Kong to the United States on"
                 " February 10 with his daughter, Dong Yang.",
                 "According to reports, Dong flew from Hong Kong to the United States in"
                 " February with his daughter, Dong Yang."]],
}}  # fmt: skip
