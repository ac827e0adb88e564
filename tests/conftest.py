from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.localweb",
    "tests.fixtures.redis",
]
