"""What the command groups share: the service's parts for one command, JSON output, errors, reading a JSON file."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..config import load_settings
from ..errors import ChengnuoError, FileTooLarge, InvalidData, NotFound, UnsafeTemplate

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
_BAD_INPUT = (InvalidData, NotFound, FileTooLarge, UnsafeTemplate)  # the caller's to fix: exit 2, not 1


def guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``command`` with a ChengnuoError reported in both languages on stderr: exit 2 for bad input, else 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except ChengnuoError as exc:
            report_error(exc)
            return EXIT_INVALID if isinstance(exc, _BAD_INPUT) else EXIT_FAILED

    return run


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def report_error(error: ChengnuoError) -> None:
    body: dict[str, Any] = {"error": error.code, "message": error.message}
    if isinstance(error, InvalidData):
        body["errors"] = error.errors
        for path, messages in error.errors.items():
            for message in messages:
                print(f"  {path}: {message}", file=sys.stderr)
    print(f"错误 / error: {error.message}", file=sys.stderr)
    print_json(body)


def read_json(path: str, option: str = "--data") -> Any:
    """The JSON in ``path`` (``-``: standard input); raises InvalidData naming ``option``."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except FileNotFoundError:
        raise InvalidData({option: [f"文件不存在 / file not found: {path}"]}) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidData({option: [f"不是可读的 JSON 文件 / not a readable JSON file: {exc}"]}) from None


def progress_bar(label: str, done: int, total: int, note: str = "", *, final: bool = False) -> None:
    """One line on standard error, redrawn in place: ``label [#####.....] done/total note``."""
    width = 30
    filled = width * done // total if total else width
    print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {note}".rstrip().ljust(78), end="\n" if final else "",
          file=sys.stderr, flush=True)


@contextlib.contextmanager
def operator_services(**overrides: Any) -> Iterator[Any]:
    """The service's parts for one command, closed (LibreOffice, workers) however it ends."""
    from ..runtime import build_services

    services = build_services(load_settings(**{"converter_workers": 1, "verify_workers": 1, **overrides}))
    try:
        yield services
    finally:
        services.close()
