"""glibc malloc, told to give memory back: the arena cap the CLI sets first, and trims."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
from scrapy import Spider

from pipelines.malloc import limit_malloc_arenas


def test_an_arena_limit_in_the_environment_wins() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False


def test_threads_share_the_arenas_once_limited() -> None:
    assert platform.libc_ver()[0] == "glibc"  # Debian's; the arena cap is glibc's
    # In a fresh process: 8 threads alive at once, allocating, would get 8 arenas.
    code = """
import ctypes, threading
from pipelines.malloc import limit_malloc_arenas
assert limit_malloc_arenas({}, arenas=2)
together = threading.Barrier(8)
def work():
    blocks = [bytearray(10_000) for _ in range(50)]
    together.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
libc = ctypes.CDLL(None)
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.open_memstream.restype = ctypes.c_void_p
buf, size = ctypes.c_char_p(), ctypes.c_size_t()
stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
print(buf.value.decode().count("<heap nr="))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) <= 2


def test_free_pages_inside_the_heap_go_back_to_the_system() -> None:
    # 200 MB of 4 KB blocks freed below one still in use: glibc alone keeps them
    code = """
import gc
from pipelines.malloc import trim_malloc
def anon_kb():
    for line in open('/proc/self/status'):
        if line.startswith('RssAnon:'):
            return int(line.split()[1])
blocks = [bytes(4000) + bytes([n % 256]) for n in range(50_000)]
pin = bytes(4000) + b'pin'
del blocks
gc.collect()
before = anon_kb()
assert trim_malloc()
print(before - anon_kb())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(done.stdout) > 150_000  # KB given back


def test_the_crawl_extension_trims_on_a_timer_and_can_be_turned_off() -> None:
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from crawler.memory import ReleaseFreeMemory

    with pytest.raises(NotConfigured):
        ReleaseFreeMemory.from_crawler(get_crawler(settings_dict={"MEMORY_TRIM_INTERVAL": 0}))
    extension = ReleaseFreeMemory.from_crawler(
        get_crawler(settings_dict={"MEMORY_TRIM_INTERVAL": 2.5})
    )
    assert extension.interval == 2.5
    extension.spider_opened(Spider("s"))
    try:
        assert extension._loop.running
    finally:
        extension.spider_closed(Spider("s"))
    assert not extension._loop.running


def test_the_crawl_process_leaves_out_what_it_does_not_use() -> None:
    # pandas (50 MB, via pa.array), aiohttp (Scrapy's remote control, which must not even
    # be imported), pyamf and pkg_resources (cdxj-indexer, needed once a crawl is over),
    # redis and scrapy-redis (only for a crawl shared over Redis), pyarrow (40 MB, and
    # its allocator: the dataset's Parquet parts are made once the crawl is over)
    code = """
import sys
from scrapy.settings import Settings
import crawler.cli, crawler.crawl, crawler.settings, crawler.spiders.cited
import pipelines.extract, pipelines.dataset, pipelines.warc, pipelines.publish, storage.cdxj
settings = Settings()
settings.setmodule(crawler.settings, priority="project")
extensions = settings.get_component_priority_dict_with_base("EXTENSIONS")  # as Scrapy does
left_out = ("pandas", "aiohttp", "pyamf", "pkg_resources", "redis", "scrapy_redis", "pyarrow")
print(",".join(m for m in left_out if m in sys.modules))
print(len(extensions), any("RemoteControl" in str(e) for e in extensions))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    imported, extensions = done.stdout.split("\n")[:2]
    assert imported == ""
    count, remote_control = extensions.split()
    assert remote_control == "False" and int(count) > 8
