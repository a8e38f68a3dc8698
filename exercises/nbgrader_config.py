"""nbgrader settings for the course's graded exercise sets (see README.md in this folder).

nbgrader reads this file when it is started from this folder (``cd exercises``). Every
path below is relative to the folder this file lives in, so the settings work in any
checkout of the repository.
"""

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
