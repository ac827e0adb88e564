"""The cap on glibc's malloc arenas that the CLI sets before any thread starts."""

from __future__ import annotations

import platform
import subprocess
import sys

from crawler.memory import limit_malloc_arenas


def test_an_arena_limit_in_the_environment_wins() -> None:
    assert limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False


def test_threads_share_the_arenas_once_limited() -> None:
    assert platform.libc_ver()[0] == "glibc"  # Debian's; the arena cap is glibc's
    # In a fresh process: 8 threads alive at once, allocating, would get 8 arenas.
    code = """
import ctypes, threading
from crawler.memory import limit_malloc_arenas
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
