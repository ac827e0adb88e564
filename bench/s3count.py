"""moto's S3 server on 127.0.0.1 that counts the requests it serves, by method.

The crawl runs in another process, so a botocore event hook cannot see its requests;
moto's server (werkzeug) logs every request it answers on the ``werkzeug`` logger
(``"PUT /bucket/key HTTP/1.1" 200 -``), and a logging handler counts those lines.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours some request lines

#: The environment that points boto3 (in the crawl's process) at the server.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


class RequestCounter(logging.Handler):
    """Counts werkzeug's request log lines: by method, and by method and status."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.methods: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) < 2 or not isinstance(args[0], str):
            return
        method = _ANSI.sub("", args[0]).split(" ", 1)[0]
        with self.lock_counts:
            self.methods[method] += 1
            self.statuses[f"{method} {_ANSI.sub('', str(args[1]))}"] += 1

    def take(self) -> tuple[dict[str, int], dict[str, int]]:
        """The counts so far, and start again from zero."""
        with self.lock_counts:
            methods, statuses = dict(self.methods), dict(self.statuses)
            self.methods.clear()
            self.statuses.clear()
        return methods, statuses


@dataclass
class S3Server:
    endpoint: str
    counter: RequestCounter

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.endpoint, **CREDENTIALS}

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def new_bucket(self) -> str:
        bucket = f"bench-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def object_sizes(self, bucket: str, prefix: str) -> dict[str, int]:
        """Key -> size of the objects under ``prefix``."""
        sizes = {}
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        for page in pages:
            for item in page.get("Contents", []):
                sizes[item["Key"]] = int(item["Size"])
        return sizes


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """moto's ThreadedMotoServer on 127.0.0.1 (a free port), counting requests."""
    counter = RequestCounter()
    log = logging.getLogger("werkzeug")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(counter)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}", counter)
    finally:
        server.stop()
        log.removeHandler(counter)
