"""nbgrader settings for the course's graded exercise sets (see README.md in this folder).

nbgrader reads this file when it is started from this folder (``cd exercises``). Every
path below is relative to the folder this file lives in, so the settings work in any
checkout of the repository.

Autograding runs student code, which is untrusted. The settings below make the documented
command, ``nbgrader autograde <set>``, safe as it is (README.md, section "Security model"):
every kernel starts in a bubblewrap sandbox, and autograding refuses to run at all if the
sandbox cannot start, unless LR2DNN_GRADING_NO_SANDBOX=1 is set for a trusted local run.
"""

import importlib.util
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

HERE = Path(__file__).resolve().parent

# The course directory: source/, release/, submitted/, autograded/, feedback/ and the
# gradebook (gradebook.db) all live in this folder.
c.CourseDirectory.course_id = "lr2dnn"
c.CourseDirectory.root = str(HERE)

# Autograding executes every cell of a submission. A cell that runs longer than this many
# seconds (an endless loop, a training run that never ends) is interrupted; it shows a
# CellTimeoutError, its test cells earn no points, and grading goes on with the next cell.
# Every cell of the solutions runs in well under 10 s on a 2-core laptop.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True

# If a student deletes a test cell, autograding puts the instructor's version back and runs
# it, so deleting a failing test cannot earn its points.
c.OverwriteCells.add_missing_cells = True

# ----------------------------------------------------------------------------- security
# The course's grading code lives next to this file, in course_grading/.
sys.path.insert(0, str(HERE))
try:
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,
                                        IgnorePattern, LimitOutput, SaveAutoGrades)

    from course_grading.backup import BackupBeforeAutograde
    from course_grading.execute import SandboxedExecute
    from course_grading.preprocessors import (HideHiddenTests, NoPartialCredit,
                                              RemoveActiveContent, TamperCheck)
except Exception as error:  # noqa: BLE001 (any failure here must stop autograding)
    # Fail closed: if the grading code cannot be loaded, autograding runs nothing at all
    # (an exception in this file would make nbgrader fall back to its unsafe defaults).
    from nbconvert.preprocessors import Preprocessor

    PROBLEM = f"the course's grading code (course_grading/) could not be loaded: {error!r}"

    class RefuseToGrade(Preprocessor):
        def preprocess(self, nb, resources):
            raise RuntimeError(f"Refusing to autograde: {PROBLEM}")

    c.Autograde.sanitize_preprocessors = [RefuseToGrade]
    c.Autograde.autograde_preprocessors = [RefuseToGrade]
else:
    # nbgrader's own steps, in nbgrader's order; Execute is replaced by the sandboxed one, and
    # the course's checks run after execution, before the scores are saved.
    c.Autograde.autograde_preprocessors = [
        SandboxedExecute,       # the sandbox, and at most 1 MB of output per cell
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        NoPartialCredit,        # a test cell earns all its points or none
        RemoveActiveContent,    # no JavaScript or HTML from students in the grader's browser
        TamperCheck,            # tests after a flagged cell earn nothing; tamper-report.csv
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    # A copy of the gradebook in gradebook-backups/ before every autograde run.
    c.Autograde.pre_convert_hook = BackupBeforeAutograde(HERE / "gradebook.db")
    # Feedback shows each hidden test's result and points, never its source.
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# What the sandbox shows: the folders of the kernel's Python (found when grading starts), and
# the course's data/ (read by lr2dnn, which is installed from this repository's lib/). The
# course folder itself (this one) is always hidden.
c.SandboxedKernelManager.hidden_paths = [str(HERE)]
_lr2dnn = importlib.util.find_spec("lr2dnn")
if _lr2dnn is not None and _lr2dnn.origin:
    _data = Path(_lr2dnn.origin).resolve().parents[2] / "data"
    if _data.is_dir():
        c.SandboxedKernelManager.read_only_paths = [str(_data)]
# Limits (per process in the sandbox; see course_grading/sandbox.py for all settings).
c.SandboxedKernelManager.memory_limit = 4 * 2**30       # bytes of address space
c.SandboxedKernelManager.cpu_time_limit = 600           # CPU seconds
c.SandboxedKernelManager.process_limit = 64             # processes and threads together
c.SandboxedKernelManager.file_size_limit = 64 * 2**20   # bytes per file written
c.SandboxedExecute.max_cell_bytes = 2**20               # output kept per cell
c.SandboxedExecute.max_notebook_bytes = 8 * 2**20       # output kept per notebook

# The formgrader and the feedback pages render students' Markdown and outputs as HTML:
# sanitise it, so that a submission cannot run JavaScript in the instructor's browser.
c.HTMLExporter.sanitize_html = True
