"""The ``scrubwatch`` group, its error handling, and the options commands share.

The library raises a :class:`~storage.errors.ScrubwatchError` for what a user can
cause (a bad seed, a bad flag, an unreachable store): it becomes one line on stderr
and exit status 2, as click's usage errors do. Any other exception is a bug and
keeps its traceback. A command that ran but found problems exits with 1.

JSON output follows one rule: a command that lists records of one kind prints JSON
Lines, one object a line (:func:`echo_json_line`); a command with one result prints
one indented document (:func:`echo_json_document`). A reader that closes the pipe
early (``| head -1``) ends the program quietly (:func:`run`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from crawler import __version__
from crawler.outlets import OutletRegistry
from crawler.settings import OUTLETS_REGISTRY
from pipelines.malloc import limit_malloc_arenas
from storage.errors import BadInput, ScrubwatchError, one_line

if TYPE_CHECKING:
    from crawler.engines import EngineRegistry

F = TypeVar("F", bound=Callable[..., Any])


class UsageFailure(click.ClickException):
    exit_code = 2


def one_line_errors(func: F) -> F:
    """Turn the library's errors that a user can cause into one line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ScrubwatchError as exc:
            raise UsageFailure(one_line(exc)) from exc

    return wrapper  # type: ignore[return-value]


def _one_line_usage(exc: click.UsageError) -> UsageFailure:
    path = exc.ctx.command_path if exc.ctx is not None else "scrubwatch"
    return UsageFailure(f"{path}: {exc.format_message()} (see {path} --help)")


class OneLineGroup(click.Group):
    """A group whose usage errors (a missing argument, a bad option) are one line too."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _one_line_usage(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _one_line_usage(exc) from exc


@contextmanager
def quiet_keyboard_interrupt() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scrubwatch")
def main() -> None:
    """Archive what a news article cites, and see what was scrubbed later."""
    limit_malloc_arenas(os.environ)  # before any command starts a thread


def run() -> None:
    """The ``scrubwatch`` program: a closed stdout (``| head -1``) ends it quietly.

    click stops a command whose output pipe is closed with status 1; what is left in
    stdout's buffer is flushed here, so that the interpreter's own flush at exit has
    nothing left to fail on (as Python's documentation of SIGPIPE recommends).
    """
    try:
        try:
            main(prog_name="scrubwatch")
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


def echo_json_line(record: Mapping[str, Any]) -> None:
    """One record of a list, as one line of JSON Lines (UTF-8, nothing escaped)."""
    click.echo(json.dumps(record, ensure_ascii=False))


def echo_json_document(document: Mapping[str, Any]) -> None:
    """A command's one result, as one indented JSON document."""
    click.echo(json.dumps(document, ensure_ascii=False, indent=1))


def registry_of(outlets: tuple[str, ...]) -> OutletRegistry:
    return OutletRegistry.load(OUTLETS_REGISTRY, *outlets)


def engines_of(outlets: tuple[str, ...]) -> EngineRegistry:
    from crawler.engines import EngineRegistry

    return EngineRegistry.load(*(outlets or (OUTLETS_REGISTRY,)))


outlets_option = click.option(
    "--outlets",
    "outlets",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Outlet registry (TOML) of your own, on top of seeds/outlets.toml; repeatable.",
)


retain_days_option = click.option(
    "--retain-days",
    type=int,
    default=None,
    metavar="N",
    help="Keep every object stored under S3 Object Lock for N days (setting STORE_RETAIN_DAYS).",
)
lock_mode_option = click.option(
    "--lock-mode",
    type=click.Choice(["GOVERNANCE", "COMPLIANCE"], case_sensitive=False),
    default=None,
    help="Object Lock mode for --retain-days (setting STORE_LOCK_MODE, default GOVERNANCE).",
)


store_option = click.option(
    "--store", default="./archive", show_default=True, help="Folder, file:// or s3://bucket/prefix."
)


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to the file the user named; BadInput naming it if that fails."""
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {one_line(exc)}") from exc


def progress_bar() -> Any:
    from tqdm import tqdm

    return tqdm(unit="B", unit_scale=True, unit_divisor=1024, disable=not sys.stderr.isatty())
