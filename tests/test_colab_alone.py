"""Every chapter notebook, copied alone into an empty folder, runs as Colab would see it.

The test makes a fresh virtual environment that can import the course's dependencies but
not the helper package, and tells Python it is in Colab (a stand-in ``google.colab``
module). The notebook's bootstrap cell must then install the helper package itself (from
this checkout instead of the repository, via ``LR2DNN_INSTALL_SOURCE``), and every cell
after it must print what the stored notebook printed.
"""

from __future__ import annotations

import json
import re
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

SANITIZE = [(re.compile(r"0x[0-9a-fA-F]+"), "0xADDRESS")]


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory, root) -> Path:
    """A Python that lacks lr2dnn and believes it runs in Colab."""
    home = tmp_path_factory.mktemp("colab")
    env_dir = home / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    packages = Path(subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip())
    # The course's dependencies are borrowed from the test environment as a plain path, so the
    # editable install of lr2dnn there (a .pth file) is not seen.
    (packages / "colab_stand_in.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
        'import sys, types; sys.modules.setdefault("google.colab", types.ModuleType("google.colab"))\n'
    )
    source = home / "source"
    shutil.copytree(root / "lib", source / "lib", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    kernels = home / "jupyter" / "kernels" / "colab-stand-in"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab stand-in", "language": "python",
    }))
    probe = subprocess.run([python, "-c", "import lr2dnn"], capture_output=True)
    assert probe.returncode != 0, "the stand-in must start without the helper package"
    return python, source, home


def text_outputs(cell) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream" and output["name"] == "stdout":
            texts.append(output["text"])
        elif "data" in output and "text/plain" in output["data"]:
            texts.append(output["data"]["text/plain"])
    joined = "".join(texts)
    for pattern, replacement in SANITIZE:
        joined = pattern.sub(replacement, joined)
    return joined


def run_in_colab_stand_in(notebook, folder, colab_python, root, tmp_path, monkeypatch,
                          allow_errors=False) -> None:
    """Execute ``notebook`` in ``folder`` with the Colab stand-in, as a reader in Colab would.

    The bootstrap installs the helper package from this checkout's copy; data files are
    "downloaded" from this checkout's data/ into a fresh cache. Afterwards the helper package
    must be installed in the stand-in's own environment.
    """
    python, source, home = colab_python
    monkeypatch.setenv("JUPYTER_PATH", str(home / "jupyter"))
    monkeypatch.setenv("LR2DNN_INSTALL_SOURCE", str(source))
    monkeypatch.setenv("LR2DNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LR2DNN_DATA_URL", (root / "data").as_uri())
    monkeypatch.setenv("PIP_NO_BUILD_ISOLATION", "0")  # build with the setuptools at hand
    monkeypatch.delenv("LR2DNN_DATA_DIR", raising=False)
    NotebookClient(notebook, kernel_name="colab-stand-in", timeout=300, allow_errors=allow_errors,
                   resources={"metadata": {"path": str(folder)}}).execute()
    installed = subprocess.check_output(
        [python, "-c", "import lr2dnn; print(lr2dnn.__file__)"], text=True).strip()
    assert str(python.parents[1]) in installed, f"lr2dnn was not installed by the bootstrap: {installed}"


NOTEBOOKS = sorted(str(path.relative_to(Path(__file__).resolve().parents[1]))
                   for path in (Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))


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
    assert code[0].source.startswith("# Colab bootstrap")
    for ran, kept in zip(code[1:], reference[1:]):
        if "NBVAL_IGNORE_OUTPUT" in kept.source:
            continue
        assert text_outputs(ran) == text_outputs(kept), f"cell differs:\n{kept.source[:300]}"
