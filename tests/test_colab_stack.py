"""The supported range of versions: Colab's at the bottom, the pinned set at the top.

``constraints-colab.txt`` holds Colab's versions (the Colab-alone tests install exactly those),
``pyproject.toml`` declares them as the helper package's lower bounds, ``constraints.txt``
pins the upper tested point, and the README's table "Supported versions" states both. These
tests read the four files and keep them in step; they install nothing.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import COLAB_CONSTRAINTS, colab_pins
from test_binder import imported_modules, normalise, pins

ROOT = Path(__file__).resolve().parents[1]
# Imported by the notebooks, but their Colab versions were not in the list that
# constraints-colab.txt was made from (its first lines say so): pip chooses them there.
COLAB_VERSION_UNKNOWN = {"contourpy"}
KERNEL = {"ipykernel", "ipython", "jupyter-client"}  # what runs the notebooks on Colab


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    requirements += [Requirement(line) for line in project["optional-dependencies"]["torch"]]
    return {normalise(r.name): r for r in requirements}


def readme_table() -> dict[str, tuple[str, str]]:
    """The rows of the README's table "Supported versions": package -> (lowest, highest)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Supported versions", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("package", "---"):
            rows[normalise(cells[0])] = (cells[1], cells[2])
    return rows


def test_the_file_says_where_its_versions_come_from():
    lines = COLAB_CONSTRAINTS.read_text().splitlines()
    head = "\n".join(lines[:next(i for i, line in enumerate(lines) if not line.startswith("#"))])
    assert "googlecolab/backend-info" in head and "pip-freeze.txt" in head
    assert re.search(r"as of [A-Z][a-z]+ 20\d\d", head), "the date of the versions"
    assert "Refresh:" in head
    assert "Python 3.13" in head and "torch 2.11" in head, "the two differences from Colab"


def test_every_package_the_notebooks_import_has_colabs_version():
    distributions = {"sklearn": "scikit-learn"}
    stdlib_or_own = {"lr2dnn", "__future__"}
    modules = {distributions.get(m, m) for m in imported_modules()
               if m not in sys.stdlib_module_names and m not in stdlib_or_own}
    missing = {normalise(m) for m in modules} - set(colab_pins()) - COLAB_VERSION_UNKNOWN
    assert not missing, f"imported, but constraints-colab.txt has no version for {missing}"
    assert KERNEL <= set(colab_pins()), "the kernel's own packages are part of Colab's stack"


def test_lower_bounds_are_colabs_versions():
    colab = colab_pins()
    for name, requirement in declared().items():
        (specifier,) = requirement.specifier
        assert specifier.operator == ">=", f"{requirement}: a lower bound only"
        if name == "torch":  # Colab's 2.11 cannot be installed here; the file says so
            assert specifier.version == "2.11"
            continue
        assert specifier.version == colab[name], f"{requirement}: Colab has {colab[name]}"


def test_the_pinned_set_is_inside_the_range():
    tested, _ = pins(ROOT / "constraints.txt")
    for name, requirement in declared().items():
        assert requirement.specifier.contains(tested[name].split("+")[0]), (
            f"constraints.txt pins {name}=={tested[name]}, outside {requirement}")


@pytest.mark.parametrize("name", sorted(declared()))
def test_the_readme_states_the_range(name):
    tested, _ = pins(ROOT / "constraints.txt")
    (specifier,) = declared()[name].specifier
    lowest, highest = readme_table()[name]
    assert lowest.split()[0] == specifier.version
    assert highest == tested[name]
