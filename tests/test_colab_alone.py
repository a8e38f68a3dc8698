"""Every chapter notebook, copied alone into an empty folder, runs as Colab would run it.

The notebooks run in the shared environment ``colab_stack`` (``tests/conftest.py``): a fresh
virtual environment with Colab's package versions from ``constraints-colab.txt``, without the
helper package, that believes it is in Colab (a stand-in ``google.colab`` module). The
notebook's bootstrap cell must then install the helper package itself (from this checkout
instead of the repository, via ``LR2DNN_INSTALL_SOURCE``) without changing any of Colab's
packages, and every cell after it must print what the stored notebook printed (stdout, the
plain text of results, stderr) and draw as many figures. A figure that fails to draw (an
error in IPython's display machinery, which does not stop the notebook) fails the test too.

Strict nbval runs the same chapters on the pinned stack of ``constraints.txt``; this module
runs them on Colab's. The exercise sets run in the same environment from
``tests/test_grading.py`` (``test_set_runs_alone_as_in_colab``), which imports
``colab_python`` and ``run_in_colab_stand_in`` from here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import installed_versions

ROOT = Path(__file__).resolve().parents[1]
SANITIZE = [(re.compile(r"0x[0-9a-fA-F]+"), "0xADDRESS")]
NOTEBOOKS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "chapters").glob("*.ipynb"))


@pytest.fixture(scope="module")
def colab_python(colab_stack):
    """The session's Colab-stack environment (kept under this name for test_grading.py)."""
    return colab_stack


def text_outputs(cell) -> str:
    """What a cell printed (stdout) and the plain text of its results, addresses masked.

    The plain text that comes with an image is left out: a reader sees the image, and that
    text (the figure object's repr) changes between plotnine versions. Images are counted
    apart (:func:`figure_count`).
    """
    texts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output["output_type"] == "stream" and output["name"] == "stdout":
            texts.append(output["text"])
        elif "text/plain" in data and "image/png" not in data:
            texts.append(data["text/plain"])
    joined = "".join(texts)
    for pattern, replacement in SANITIZE:
        joined = pattern.sub(replacement, joined)
    return joined


def warnings_shown(cell) -> str:
    """What a cell wrote to stderr (warnings, mostly): Colab shows it under the cell."""
    return "".join(output["text"] for output in cell.get("outputs", [])
                   if output["output_type"] == "stream" and output["name"] == "stderr")


def figure_count(cell) -> int:
    """How many images a cell shows."""
    return sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def errors(cell) -> list[str]:
    """The errors a cell shows, as ``Name: message``, including those of the display machinery."""
    return [f"{output['ename']}: {output['evalue']}"
            for output in cell.get("outputs", []) if output["output_type"] == "error"]


def run_in_colab_stand_in(notebook, folder, colab_python, root, tmp_path, monkeypatch,
                          allow_errors=False) -> None:
    """Execute ``notebook`` in ``folder`` with the Colab stand-in, as a reader in Colab would.

    The bootstrap installs the helper package from this checkout's copy; data files are
    "downloaded" from this checkout's data/ into a fresh cache. Afterwards the helper package
    must be installed in the stand-in's own environment, and every package of
    ``constraints-colab.txt`` must still have Colab's version (the bootstrap upgrades nothing).
    """
    python, source, home, pins = colab_python
    monkeypatch.setenv("JUPYTER_PATH", str(home / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(home / "ipython"))
    monkeypatch.setenv("LR2DNN_INSTALL_SOURCE", str(source))
    monkeypatch.setenv("LR2DNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LR2DNN_DATA_URL", (root / "data").as_uri())
    monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")  # build with the setuptools at hand
    # The environment is installed without bytecode (pip --no-compile): the first kernel writes
    # the .pyc files of what the notebooks import, and the later kernels reuse them.
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    monkeypatch.delenv("LR2DNN_DATA_DIR", raising=False)
    NotebookClient(notebook, kernel_name="colab-stand-in", timeout=300, allow_errors=allow_errors,
                   resources={"metadata": {"path": str(folder)}}).execute()
    installed = subprocess.check_output(
        [str(python), "-c", "import lr2dnn; print(lr2dnn.__file__)"], text=True).strip()
    assert str(python.parents[1]) in installed, f"lr2dnn was not installed by the bootstrap: {installed}"
    changed = {name: (pin, version) for name, version in installed_versions(python, pins).items()
               if version != (pin := pins[name])}
    assert not changed, f"the bootstrap changed Colab's packages (name: (Colab's, now)): {changed}"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_alone_as_in_colab(notebook, colab_python, root, tmp_path, monkeypatch):
    folder = tmp_path / "content"
    folder.mkdir()
    shutil.copy(root / notebook, folder)
    stored = nbformat.read(root / notebook, as_version=4)
    executed = nbformat.read(folder / Path(notebook).name, as_version=4)

    run_in_colab_stand_in(executed, folder, colab_python, root, tmp_path, monkeypatch)

    code = [c for c in executed.cells if c.cell_type == "code"]
    reference = [c for c in stored.cells if c.cell_type == "code"]
    assert len(code) == len(reference)
    assert code[0].source.startswith("# Colab bootstrap")
    problems = []
    for number, (ran, kept) in enumerate(zip(code, reference), start=1):
        where = f"code cell {number} ({kept.source.splitlines()[0][:60]!r})"
        problems += [f"{where}: {error}" for error in errors(ran)]
        if figure_count(ran) != figure_count(kept):
            problems.append(f"{where}: {figure_count(ran)} figures drawn, {figure_count(kept)} stored")
        if number > 1 and "NBVAL_IGNORE_OUTPUT" not in kept.source \
                and text_outputs(ran) != text_outputs(kept):
            problems.append(f"{where}: text differs:\n--- stored\n{text_outputs(kept)}\n"
                            f"--- on Colab's versions\n{text_outputs(ran)}")
        if number > 1 and warnings_shown(ran) != warnings_shown(kept):
            problems.append(f"{where}: stderr differs:\n--- stored\n{warnings_shown(kept)}\n"
                            f"--- on Colab's versions\n{warnings_shown(ran)}")
    assert not problems, "\n".join(problems)
