"""Shared fixtures for the course's tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
COLAB_CONSTRAINTS = ROOT / "constraints-colab.txt"


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


def colab_pins(path: Path = COLAB_CONSTRAINTS) -> dict[str, str]:
    """The ``name==version`` lines of ``constraints-colab.txt``, names normalised (PEP 503)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def installed_versions(python: Path, names) -> dict[str, str | None]:
    """The versions of the distributions ``names`` installed for ``python``, without a local
    label (``2.13.0+cpu`` is ``2.13.0``); None for one that is missing."""
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "def version(name):\n"
        "    try:\n"
        "        return m.version(name).split('+')[0]\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({name: version(name) for name in sys.argv[1:]}))\n"
    )
    output = subprocess.check_output([str(python), "-c", probe, *names], text=True)
    return json.loads(output)


class ColabStack(NamedTuple):
    """A Python environment with Colab's package versions, as the Colab-alone tests use it."""

    python: Path   # the environment's interpreter; it believes it runs in Colab
    source: Path   # a copy of the helper package's source, for LR2DNN_INSTALL_SOURCE
    home: Path     # holds the kernel spec "colab-stand-in" (a JUPYTER_PATH entry) and more
    pins: dict     # constraints-colab.txt: what the environment must keep, name -> version


@pytest.fixture(scope="session")
def colab_stack(tmp_path_factory) -> ColabStack:
    """A fresh virtual environment with exactly the versions of ``constraints-colab.txt``.

    Built once per test session and shared by every test that runs a notebook as a Colab
    reader would. It lacks the helper package (the notebooks' bootstrap cell installs it) and
    believes it runs in Colab: a ``.pth`` file puts a stand-in ``google.colab`` module into
    ``sys.modules``. pip installs with ``--no-compile``, which takes a third of the time: the
    kernels compile and cache only what the notebooks import (``run_in_colab_stand_in`` lets
    them write bytecode even where ``PYTHONDONTWRITEBYTECODE`` is set).
    """
    home = tmp_path_factory.mktemp("colab")
    env_dir = home / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    process = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", "--only-binary", ":all:",
         "-r", str(COLAB_CONSTRAINTS)],
        capture_output=True, text=True,
    )
    assert process.returncode == 0, f"installing constraints-colab.txt failed:\n{process.stderr[-3000:]}"
    packages = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip())
    (packages / "colab_stand_in.pth").write_text(
        'import sys, types; sys.modules.setdefault("google.colab", types.ModuleType("google.colab"))\n'
    )
    source = home / "source"
    shutil.copytree(ROOT / "lib", source / "lib",
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    kernels = home / "jupyter" / "kernels" / "colab-stand-in"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab stand-in", "language": "python",
    }))
    pins = colab_pins()
    assert installed_versions(python, pins) == pins, "the environment must hold Colab's versions"
    probe = subprocess.run([str(python), "-c", "import lr2dnn"], capture_output=True)
    assert probe.returncode != 0, "the stand-in must start without the helper package"
    return ColabStack(python, source, home, pins)
