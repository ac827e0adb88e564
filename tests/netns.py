"""Runs pytest in a network namespace of its own whose only interface is loopback.

    .venv/bin/python tests/netns.py [PYTEST ARGS...]      (what ``make test`` runs)

Every server the tests use (the local cited web, moto, redis-server, pywb) listens on
loopback, so the suite passes unchanged; anything that reaches further fails at once
(``ENETUNREACH``, a name lookup in well under a second) and never leaves the machine.
Tests that start Chromium need this (they are marked ``browser``): a stray browser
request must fail, not reach the internet (``tests/conftest.py`` fails them outside).

The namespace is made with unshare(2), in this process: ``CLONE_NEWNET`` where the
process may (root), else ``CLONE_NEWUSER | CLONE_NEWNET`` with the user mapped to itself
(an unprivileged user namespace: no root needed where the kernel allows those). ``lo``
is brought up with the ``SIOCSIFFLAGS`` ioctl, so iproute2 is not needed. Then pytest
replaces this process. Where neither namespace can be made, one line says what is needed.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import socket
import struct
import sys
from pathlib import Path

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ = struct.Struct("16sh22x")  # struct ifreq: the name, then ifr_flags in a 24-byte union


class NamespaceError(OSError):
    """No network namespace could be made here."""


def interfaces() -> list[str]:
    """The network interfaces this process sees.

    Read from ``/proc/self/net/dev``, which follows the process's network namespace
    (``/sys/class/net`` follows the mount namespace and still lists the host's).
    """
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return [line.split(":", 1)[0].strip() for line in lines]


def network_isolated() -> bool:
    """Whether this process's network namespace has no interface but loopback."""
    return set(interfaces()) <= {"lo"}


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _map_self(uid: int, gid: int) -> None:
    """Map the user and group to themselves in the new user namespace (user_namespaces(7))."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def enter_namespace() -> None:
    """Move this (single-threaded) process into a new network namespace; NamespaceError if none."""
    try:
        _unshare(CLONE_NEWNET)
        return
    except OSError as exc:
        if exc.errno != errno.EPERM:
            raise NamespaceError(f"unshare(CLONE_NEWNET): {exc.strerror}") from exc
    uid, gid = os.getuid(), os.getgid()
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
        _map_self(uid, gid)
    except OSError as exc:
        raise NamespaceError(
            f"cannot make a network namespace ({exc.strerror}): run as root, or allow "
            "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
            "user.max_user_namespaces > 0)"
        ) from exc


def loopback_up() -> None:
    """Bring ``lo`` up (a new network namespace starts with it down)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = IFREQ.pack(b"lo", 0)
        flags = IFREQ.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, IFREQ.pack(b"lo", flags | IFF_UP))


def main(args: list[str]) -> None:
    try:
        enter_namespace()
        loopback_up()
    except OSError as exc:
        sys.exit(f"tests/netns.py: {exc}")
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *args])


if __name__ == "__main__":
    main(sys.argv[1:])
