from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.retries.standard import ExponentialBackoff

from tests.netns import network_isolated

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.localweb",
    "tests.fixtures.redis",
    "tests.fixtures.story",
]

# botocore's standard retries wait up to 20 s between attempts (a second's base for
# throttling): the tests keep every retry and how many there are, and wait a hundredth.
BACKOFF_SCALE = 0.01
# Tests with these marks need the network namespace tests/netns.py makes (only loopback).
ISOLATED_MARKS = ("browser", "netns")


@functools.cache
def _isolated() -> bool:
    return network_isolated()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a test that needs the loopback-only namespace when it runs outside one."""
    marks = [name for name in ISOLATED_MARKS if item.get_closest_marker(name)]
    if marks and not _isolated():
        pytest.fail(
            f"{marks[0]} tests run in a network namespace with only loopback: "
            "make test, or .venv/bin/python tests/netns.py [PYTEST ARGS]",
            pytrace=False,
        )


@pytest.fixture(autouse=True, scope="session")
def short_botocore_backoff() -> Iterator[None]:
    """botocore retries in this process back off a hundred times less."""
    delay_amount = ExponentialBackoff.delay_amount

    def short_delay(self: ExponentialBackoff, context: Any) -> float:
        return float(delay_amount(self, context)) * BACKOFF_SCALE

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ExponentialBackoff, "delay_amount", short_delay)
        yield


@pytest.fixture(autouse=True, scope="session")
def one_botocore_loader() -> Iterator[None]:
    """Every boto3 session in this process reads botocore's service models once.

    A store opens its own session (and a second client to check it can write), and a
    new session loads S3's models again from JSON, most of the cost of opening a store:
    the tests open stores by the hundred. The models are read-only data.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            botocore.session,
            "create_loader",
            functools.cache(botocore.session.create_loader),
        )
        yield
