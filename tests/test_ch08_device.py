"""No result that chapter 8 prints depends on the device it trains on.

Chapter 8 chooses a device with ``lr2dnn.repro.pick_device()`` and shows how to move a model and
its data there, but computes every number it prints on the CPU (float32 results on a GPU differ
in their last digits, and over thousands of steps in the quoted ones). This test runs the whole
chapter with ``LR2DNN_DEVICE=meta``: PyTorch's ``meta`` device keeps shapes but computes no
numbers, so any printed result computed on the chosen device would fail (``.item()`` raises)
or change. Every stored text output, except those of cells marked ``# NBVAL_IGNORE_OUTPUT``
(machine-dependent times and the device's name), must come out unchanged, and so must the
number of figures.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = "chapters/08-pytorch-and-optimisers.ipynb"
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def texts(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream" and output["name"] == "stdout":
            parts.append(output["text"])
        elif "data" in output and "text/plain" in output["data"] and "image/png" not in output["data"]:
            parts.append(output["data"]["text/plain"])
    return ADDRESS.sub("0xADDRESS", "".join(parts))


def figures(cell) -> int:
    return sum("data" in output and "image/png" in output["data"] for output in cell.get("outputs", []))


@pytest.fixture(scope="module")
def runs_on_meta(root, tmp_path_factory):
    stored = nbformat.read(root / NOTEBOOK, as_version=4)
    executed = nbformat.read(root / NOTEBOOK, as_version=4)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("LR2DNN_DEVICE", "meta")
    try:
        NotebookClient(executed, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(root / "chapters")}}).execute()
    finally:
        monkeypatch.undo()
    return stored, executed


def test_the_device_was_forced_to_meta(runs_on_meta):
    _, executed = runs_on_meta
    printed = "".join(texts(cell) for cell in executed.cells if cell.cell_type == "code")
    assert "the best device here: meta" in printed
    assert "one training step ran with the model, the batch and the loss all on the chosen device" in printed


def test_every_quoted_output_is_the_same_on_a_device_that_computes_nothing(runs_on_meta):
    stored, executed = runs_on_meta
    compared = 0
    for index, (old, new) in enumerate(zip(stored.cells, executed.cells)):
        if old.cell_type != "code":
            continue
        assert figures(new) == figures(old), f"cell {index}: the number of figures changed"
        if old.source.lstrip().startswith("# NBVAL_IGNORE_OUTPUT"):
            continue
        assert texts(new) == texts(old), f"cell {index} printed something else with LR2DNN_DEVICE=meta"
        compared += bool(texts(old))
    assert compared >= 20, "expected the chapter's printed results to be compared"
