"""The course's grading code: safe autograding of untrusted student notebooks with nbgrader.

Instructor tooling, not part of the students' helper package ``lr2dnn``. ``nbgrader_config.py``
(in the folder above) puts it to work; ``exercises/README.md``, section "Security model",
explains what it protects and what it does not.

Modules:

- ``sandbox``: the kernel manager that starts each kernel inside bubblewrap, fail-closed;
  ``_launcher``: the first program inside the sandbox (limits, then the kernel);
- ``execute``: nbgrader's Execute step with the sandbox and with limits on outputs;
- ``tamper``: static checks of students' cells; ``preprocessors``: the tamper check and report,
  no partial credit, no active content, feedback without hidden tests;
- ``backup``: gradebook copies before every autograde run, and restore;
- ``parallel``: several autograde processes over one SQLite gradebook;
- ``__main__``: ``python -m course_grading check | report | backups | restore | autograde``.
"""

from .sandbox import OPT_OUT_VARIABLE

__all__ = ["OPT_OUT_VARIABLE"]
