"""nbgrader's Execute step, in the sandbox and with a limit on the size of outputs.

``SandboxedExecute`` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``.
It differs in three ways:

- kernels start in the sandbox (``SandboxedKernelManager``); if the sandbox cannot start, the
  submission is not run at all (``SandboxUnavailable``), unless ``LR2DNN_GRADING_NO_SANDBOX=1``;
- outputs are limited as they arrive, so a cell that prints 300 MB neither fills the grader's
  memory nor the autograded notebook: once a cell's outputs reach ``max_cell_bytes`` (or the
  notebook's reach ``max_notebook_bytes``), further text is cut and further rich outputs are
  dropped, and the cell gets a note saying how much it produced. Errors and output on stderr are
  always kept (shortened), because they decide that a test cell earns no points;
- widget state is not stored (it could be as large as any output);
- the kernel is killed at once when the notebook is done (``shutdown_kernel = "immediate"``):
  it is the submission's own, nothing of it is kept, and a polite shutdown costs about a second
  per submission.
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Enum, Integer

from .backup import BackupBeforeAutograde
from .sandbox import OPT_OUT_VARIABLE, SandboxedKernelManager, sandbox_disabled

TRUNCATION_NOTE = ("[Output truncated by the grader: this cell produced {produced} of output; "
                   "the limit is {limit} per cell and {notebook_limit} per notebook.]\n")


def human_bytes(size: int) -> str:
    """``1048576`` -> ``'1.0 MB'`` (powers of 1024, one decimal)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def message_size(msg: dict) -> int:
    """Characters of output in a kernel message (text, rich data, traceback)."""
    content = msg.get("content", {})
    size = len(content.get("text", ""))
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(str(value))
    size += sum(len(line) for line in content.get("traceback", []))
    size += len(content.get("evalue", ""))
    return size


def shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[...]\n"


class SandboxedExecute(Execute):
    """Execute a submission in the sandbox, with limits on its outputs (see the module)."""

    max_cell_bytes = Integer(2**20, help="Characters of output kept per cell.").tag(config=True)
    max_notebook_bytes = Integer(8 * 2**20, help="Characters of output kept per notebook.").tag(config=True)
    shutdown_kernel = Enum(["graceful", "immediate"], default_value="immediate",
                           help="How the kernel ends after the notebook has run.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)
        self.store_widget_state = False
        self._produced: dict[int, int] = {}
        self._kept: dict[int, int] = {}
        self._kept_in_notebook = 0

    def preprocess(self, nb, resources=None, km=None):
        self._produced, self._kept, self._kept_in_notebook = {}, {}, 0
        if BackupBeforeAutograde.failures:
            raise RuntimeError("Refusing to autograde: the gradebook was not backed up "
                               f"({BackupBeforeAutograde.failures[0]}).")
        if sandbox_disabled():
            student = (resources or {}).get("nbgrader", {}).get("student", "?")
            self.log.warning("%s=1: grading %s WITHOUT the sandbox: student code runs with your "
                             "rights and can read and change every file you can.",
                             OPT_OUT_VARIABLE, student)
        return super().preprocess(nb, resources, km)

    # ------------------------------------------------------------------- outputs

    def _room(self, cell_index: int) -> int:
        return max(0, min(self.max_cell_bytes - self._kept.get(cell_index, 0),
                          self.max_notebook_bytes - self._kept_in_notebook))

    def _keep(self, cell_index: int, size: int) -> None:
        self._kept[cell_index] = self._kept.get(cell_index, 0) + size
        self._kept_in_notebook += size

    def output(self, outs, msg, display_id, cell_index):
        size = message_size(msg)
        self._produced[cell_index] = self._produced.get(cell_index, 0) + size
        room = self._room(cell_index)
        if size <= room:
            self._keep(cell_index, size)
            return super().output(outs, msg, display_id, cell_index)
        msg_type, content = msg["msg_type"], msg["content"]
        if msg_type == "error":
            # Always kept: an error decides that a test cell earns nothing.
            content["traceback"] = [shortened(line, 2000) for line in content.get("traceback", [])[-20:]]
            content["evalue"] = shortened(content.get("evalue", ""), 2000)
            self._keep(cell_index, message_size(msg))
            return super().output(outs, msg, display_id, cell_index)
        if msg_type == "stream":
            stderr_kept = any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outs)
            if room > 0:
                content["text"] = content["text"][:room]
            elif content.get("name") == "stderr" and not stderr_kept:
                content["text"] = "[stderr output truncated]\n"   # kept: stderr fails a test cell
            else:
                return None
            self._keep(cell_index, len(content["text"]))
            return super().output(outs, msg, display_id, cell_index)
        return None   # rich output beyond the limit: dropped

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        cell, cell_index = kwargs["cell"], kwargs["cell_index"]
        produced, kept = self._produced.get(cell_index, 0), self._kept.get(cell_index, 0)
        if produced > kept:
            note = TRUNCATION_NOTE.format(produced=human_bytes(produced),
                                          limit=human_bytes(self.max_cell_bytes),
                                          notebook_limit=human_bytes(self.max_notebook_bytes))
            cell.outputs.append(new_output("stream", name="stdout", text=note))
