"""Binder's environment (``binder/``) and the CPU build of torch for ``make``.

Binder builds ``binder/`` with repo2docker: ``runtime.txt`` names the Python,
``requirements.txt`` is installed with pip, then ``postBuild`` runs. Nothing here builds the
image (that needs Docker); the tests read the files and check what must hold for the image to
run every chapter and exercise set: torch from PyTorch's CPU index, the same versions as the
tested pins of ``constraints.txt``, every package the notebooks and the helper package import,
everything those packages need and nothing more.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
NOTEBOOK_GLOBS = ("chapters/*.ipynb", "exercises/source/*/*.ipynb", "exercises/release/*/*.ipynb")
ALWAYS_THERE = {"pip", "setuptools", "wheel"}  # in every environment repo2docker makes


def normalise(name: str) -> str:
    """A distribution's name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> tuple[dict[str, str], list[str]]:
    """The ``name==version`` lines of a requirements file, and its option lines."""
    found, options = {}, []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {line} is not pinned with =="
        found[normalise(requirement.name)] = specifier.version
    return found, options


def public(version: str) -> str:
    """A version without its local label: 2.13.0+cpu is 2.13.0."""
    return version.split("+", 1)[0]


def code_of(source: str) -> str:
    """A notebook cell's code without IPython's magics and shell lines."""
    return "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def top_level_imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def imported_modules() -> dict[str, set[str]]:
    """Every top-level module that a notebook or the helper package imports -> where."""
    where: dict[str, set[str]] = {}
    sources = [(path, [code_of(cell.source) for cell in nbformat.read(path, as_version=4).cells
                       if cell.cell_type == "code"])
               for pattern in NOTEBOOK_GLOBS for path in sorted(ROOT.glob(pattern))]
    sources += [(path, [path.read_text()]) for path in sorted((ROOT / "lib").rglob("*.py"))]
    for path, chunks in sources:
        for chunk in chunks:
            for name in top_level_imports(ast.parse(chunk)):
                where.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return where


@pytest.fixture(scope="module")
def binder():
    return pins(BINDER / "requirements.txt")


def test_torch_comes_from_the_cpu_index(binder):
    versions, options = binder
    assert f"--extra-index-url {CPU_INDEX}" in options or f"--index-url {CPU_INDEX}" in options
    assert versions["torch"].endswith("+cpu"), "only the CPU index has torch's +cpu builds"


def test_binder_pins_are_the_tested_pins(binder):
    versions, _ = binder
    tested, _ = pins(ROOT / "constraints.txt")
    assert not set(versions) - set(tested), "Binder installs packages the tests never installed"
    differ = {name: (version, tested[name]) for name, version in versions.items()
              if public(version) != tested[name]}
    assert not differ, f"Binder's versions differ from constraints.txt (Binder, tested): {differ}"


def test_binder_python_is_the_tested_one():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", (
        f"runtime.txt says {runtime}; the tested pins were resolved for this Python, {sys.version}")


def test_every_import_is_covered(binder):
    versions, _ = binder
    distributions = metadata.packages_distributions()
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    missing = {}
    for module, where in sorted(imported_modules().items()):
        if module in stdlib or module == "lr2dnn":
            continue
        names = {normalise(name) for name in distributions.get(module, [module])}
        if not names & set(versions):
            missing[module] = sorted(where)
    assert not missing, f"imported but not in binder/requirements.txt: {missing}"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {normalise(Requirement(r).name) for r in declared} <= set(versions), (
        "postBuild installs lr2dnn with --no-deps: its dependencies must be in requirements.txt")


def test_the_imports_are_found():
    """The import scan sees what the chapters use (so that the check above can fail)."""
    modules = imported_modules()
    assert {"numpy", "pandas", "plotnine", "sklearn", "scipy", "torch", "contourpy"} <= set(modules)
    assert "chapters/09-covid-case-study.ipynb" in modules["torch"]
    assert any(path.startswith("exercises/release/") for path in modules["numpy"])
    assert any(path.startswith("lib/") for path in modules["sklearn"])


def test_binder_holds_what_its_packages_need_and_nothing_more(binder):
    """Read from this environment, where the same versions are installed (constraints.txt)."""
    versions, _ = binder
    roots = {normalise(name) for name in ("torch", "numpy", "pandas", "scikit-learn", "scipy",
                                         "contourpy", "plotnine", "statsmodels", "tqdm")}
    needed, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        for line in metadata.distribution(name).requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(normalise(requirement.name))
    needed -= ALWAYS_THERE
    assert needed - set(versions) == set(), "packages the notebooks' packages need"
    assert set(versions) - needed == set(), "packages nobody needs"


def test_post_build_installs_the_helper_package():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only if it is executable"
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash\n")
    assert "pip install --no-cache-dir --no-deps ." in text


def make_dry_run(*variables: str) -> str:
    return subprocess.run(["make", "-n", "-B", "-C", str(ROOT), ".venv/.installed", *variables],
                          capture_output=True, text=True, check=True).stdout


def test_make_takes_torch_from_a_cpu_index_when_asked():
    default = make_dry_run()
    assert "index-url" not in default
    assert "pip install --quiet  -r requirements.txt -c constraints.txt" in default
    asked = make_dry_run(f"TORCH_INDEX_URL={CPU_INDEX}")
    assert f"pip install --quiet --extra-index-url {CPU_INDEX} -r requirements.txt" in asked
