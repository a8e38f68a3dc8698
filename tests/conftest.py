"""Shared fixtures for the course's tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's top folder."""
    return ROOT


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """Build the book once per test session, as `make book` does, into a temporary folder.

    Returns the finished process (its output holds Sphinx's warnings) and the HTML folder.
    """
    output = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    process = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going",
         "--path-output", str(output)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"},
    )
    return process, output / "_build" / "html"
