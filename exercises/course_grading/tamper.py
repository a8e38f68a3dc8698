"""Static checks of students' code cells for tampering with the grader.

The checks read each cell with Python's ``ast`` module (after IPython's own translation of
magics such as ``%pip`` or ``!ls`` into Python); they never run the code. A finding names the
cell, the line and one of these rules:

``rebinds-library``
    changes an attribute of an imported module or object, of ``builtins`` or of ``sys``
    (``np.isclose = ...``, ``setattr(np, ...)``, ``np.testing.__dict__[...] = ...``,
    ``sys.modules[...] = ...``, ``builtins.abs = ...``, ``del np.allclose``).
``shadows-name``
    binds, at the top level of a cell, a name that a test cell reads and that the instructor's
    cells (or Python's builtins) provide: ``np = FakeNumpy()``, ``def isinstance(...)``,
    ``import fake as np``, ``X_sim = ...``.
``dynamic-code``
    runs code that cannot be checked: ``exec``, ``eval``, ``compile``, ``__import__``,
    ``importlib``, ``runpy``, ``ctypes``, IPython magics that run code or shell commands.
``reads-outside``
    names a path outside the submission's folder (``'/...'``, ``'~...'``, ``'..'``), changes
    the working folder, or asks for the home folder.
``inspects-grader``
    looks at the grader's code or variables: frames (``sys._getframe``, ``inspect.stack``,
    ``f_back``, ``f_locals``, ...), ``globals()``, ``vars()``, the notebook's history (``In``,
    ``Out``, ``_ih``), ``get_ipython()``, ``gc``, ``__main__``, the kernel's or the grader's
    modules (``ipykernel``, ``zmq``, ``nbgrader``, ...), ``sys.displayhook``.
``processes`` and ``network``
    starts processes or shell commands (``subprocess``, ``os.system``, ``os.fork``,
    ``multiprocessing``, ``os.kill``), opens network connections (``socket``, ``urllib``,
    ``requests``, ``http``).
``changes-files``
    deletes, renames or changes the permissions of files (``os.remove``, ``shutil.rmtree``, ...).

A static check cannot be complete (code can be obfuscated); it catches the usual ways and makes
the others look odd to a reader. The sandbox, not this check, keeps the files safe.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

RULES = ("rebinds-library", "shadows-name", "dynamic-code", "reads-outside", "inspects-grader",
         "processes", "network", "changes-files")

GUARDED_ROOTS = {"builtins", "__builtins__", "sys"}
DYNAMIC_CALLS = {"exec", "eval", "compile", "__import__", "execfile"}
DYNAMIC_MODULES = {"importlib", "runpy", "ctypes", "cffi", "code", "codeop", "marshal"}
INSPECTION_NAMES = {"globals", "locals", "get_ipython", "In", "Out", "_ih", "_oh", "_dh", "_i",
                    "_ii", "_iii", "__IPYTHON__", "_getframe", "__main__"}
INSPECTION_ATTRIBUTES = {"_getframe", "f_back", "f_globals", "f_locals", "f_code", "f_builtins",
                         "tb_frame", "gi_frame", "cr_frame", "currentframe", "stack",
                         "getouterframes", "getinnerframes", "trace", "displayhook", "excepthook",
                         "settrace", "setprofile", "__code__", "__globals__", "__closure__",
                         "user_ns", "user_global_ns"}
INSPECTION_MODULES = {"gc", "inspect", "__main__", "ipykernel", "IPython", "zmq", "jupyter_client",
                      "jupyter_core", "nbgrader", "nbclient", "nbconvert", "nbformat", "traitlets",
                      "tornado", "sqlite3", "sqlalchemy", "dis", "traceback", "pdb", "bdb"}
ALLOWED_MODULES = {"IPython.display"}   # display(...) of a figure or a table is fine
PROCESS_MODULES = {"subprocess", "multiprocessing", "pty", "signal", "concurrent", "threading",
                   "_thread", "asyncio", "sched", "atexit", "os.fork"}
PROCESS_CALLS = {"system", "popen", "fork", "forkpty", "kill", "killpg", "spawnl", "spawnle",
                 "spawnlp", "spawnv", "spawnve", "spawnvp", "posix_spawn", "posix_spawnp",
                 "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
                 "startfile", "setsid", "setpgid", "daemon"}
NETWORK_MODULES = {"socket", "ssl", "urllib", "http", "requests", "httpx", "aiohttp", "ftplib",
                   "smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "websocket", "paramiko"}
FILE_CHANGES = {"remove", "unlink", "rmdir", "removedirs", "rmtree", "rename", "renames",
                "replace", "chmod", "chown", "lchown", "truncate", "symlink", "link", "utime",
                "move", "copytree", "chflags"}
OUTSIDE_CALLS = {"chdir", "fchdir", "chroot", "home", "expanduser", "getcwdb"}
OUTSIDE_NAMES = {"pardir"}
# Configuration that honest plotting or seeding code changes; writing to these is not tampering.
CONFIGURATION = {"rcParams", "options", "backends", "mpl"}
ALLOWED_MAGICS = {"time", "timeit", "matplotlib", "precision", "who", "whos", "config"}
# '/abs/path', '~', '~/x', '~user/x', and any '..' segment; not '/' alone, not '...'.
PATH_OUTSIDE = re.compile(r"^/[\w.\-]+(/[\w.\-]*)*$|^~[\w.\-]*(/.*)?$|(^|/)\.\.(/|$)")


@dataclass(frozen=True)
class Finding:
    """One suspicious piece of a cell: where it is, which rule, and the code."""

    cell_index: int
    line: int
    rule: str
    message: str
    code: str


def python_source(cell_source: str) -> str:
    """The cell as plain Python: IPython magics (``%pip``, ``!ls``) become calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:   # without IPython, magics stay a syntax error
        return cell_source
    return TransformerManager().transform_cell(cell_source)


def dotted(node: ast.AST) -> str | None:
    """``np.testing.assert_allclose`` for that chain of attributes, ``None`` otherwise."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def root_name(node: ast.AST) -> str | None:
    """The name an expression starts from: ``np`` for ``np.a.b[0].c``, ``vars`` for ``vars(x)``."""
    while True:
        if isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def import_bindings(tree: ast.AST) -> dict[str, str]:
    """Names bound by the imports of a tree: ``{'np': 'numpy', 'LinearRegression': 'sklearn...'}``."""
    bindings = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bindings[alias.asname] = alias.name
                else:
                    bindings[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    bindings[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bindings


def top_level_bindings(tree: ast.Module) -> dict[str, ast.AST]:
    """Names a cell binds in the notebook's global namespace, with the statement that binds each.

    Counts the top-level statements (assignments, ``def``, ``class``, ``for``, ``with``,
    ``import``, ``del``, walrus) and assignments to names declared ``global`` in a function.
    """
    bound: dict[str, ast.AST] = {}

    def targets(node: ast.AST, statement: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
                bound.setdefault(child.id, statement)

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.setdefault(statement.name, statement)
                declared = {name for node in ast.walk(statement) if isinstance(node, ast.Global)
                            for name in node.names}
                for node in ast.walk(statement):
                    if isinstance(node, ast.Name) and node.id in declared and isinstance(node.ctx, ast.Store):
                        bound.setdefault(node.id, node)
                continue
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for name in import_bindings(statement):
                    bound.setdefault(name, statement)
                continue
            if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                for target in getattr(statement, "targets", None) or [statement.target]:
                    targets(target, statement)
            elif isinstance(statement, (ast.For, ast.AsyncFor)):
                targets(statement.target, statement)
            elif isinstance(statement, (ast.With, ast.AsyncWith)):
                for item in statement.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars, statement)
            for node in ast.walk(statement):   # walrus anywhere in a top-level statement
                if isinstance(node, ast.NamedExpr):
                    targets(node.target, statement)
            for field in ("body", "orelse", "finalbody", "handlers"):
                block = getattr(statement, field, None)
                if isinstance(block, list):
                    visit([s for s in block if isinstance(s, ast.stmt)] +
                          [s for h in block if isinstance(h, ast.ExceptHandler) for s in h.body])
    visit(tree.body)
    return bound


def free_names(tree: ast.Module) -> set[str]:
    """Names a test cell reads from the notebook's namespace before (or without) binding them."""
    first_store: dict[str, tuple[int, int]] = {}
    loads: list[tuple[str, tuple[int, int]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            position = (node.lineno, node.col_offset)
            if isinstance(node.ctx, ast.Load):
                loads.append((node.id, position))
            elif node.id not in first_store or position < first_store[node.id]:
                first_store[node.id] = position
    return {name for name, position in loads if name not in first_store or position < first_store[name]}


def parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(python_source(source))
    except SyntaxError:
        return None   # the cell cannot run either


class CellChecker(ast.NodeVisitor):
    """Collects the findings of one student cell."""

    def __init__(self, cell_index: int, lines: list[str], guarded: set[str]):
        self.cell_index, self.lines, self.guarded = cell_index, lines, guarded
        self.findings: list[Finding] = []

    def flag(self, node: ast.AST, rule: str, message: str) -> None:
        line = getattr(node, "lineno", 1)
        code = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        self.findings.append(Finding(self.cell_index, line, rule, message, code))

    def is_guarded(self, node: ast.AST) -> bool:
        return root_name(node) in self.guarded

    @staticmethod
    def is_configuration(node: ast.AST) -> bool:
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute) and node.attr in CONFIGURATION:
                return True
            node = node.value
        return False

    # ------------------------------------------------------------- rebinding
    def _store(self, node: ast.AST) -> None:
        if self.is_configuration(node):
            return
        root = root_name(node)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call) and \
                root_name(node.value) in {"vars", "globals", "locals"}:
            self.flag(node, "rebinds-library", f"writes into the namespace returned by {root}()")
        elif isinstance(node, ast.Subscript) and dotted(node.value) in {"sys.modules", "__builtins__"}:
            self.flag(node, "rebinds-library", f"replaces an entry of {dotted(node.value)}")
        elif root in self.guarded:
            target = dotted(node) or dotted(getattr(node, "value", node)) or root
            self.flag(node, "rebinds-library", f"changes {target}, which belongs to an imported "
                                               "module or object, builtins or sys")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._store(node)
        if node.attr in INSPECTION_ATTRIBUTES and not (node.attr in {"stack", "trace"} and root_name(node) not in {"inspect", "traceback"}):
            self.flag(node, "inspects-grader", f"uses .{node.attr}, which looks at the grader's code or variables")
        if node.attr in OUTSIDE_NAMES:
            self.flag(node, "reads-outside", "uses os.pardir to leave the submission's folder")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self._store(node)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in INSPECTION_NAMES:
            self.flag(node, "inspects-grader", f"uses {node.id}, which looks at the grader's code or variables")
        elif node.id == "__builtins__":
            self.flag(node, "rebinds-library", "uses __builtins__")
        if node.id in DYNAMIC_CALLS:
            self.flag(node, "dynamic-code", f"uses {node.id}, which runs code that cannot be checked")

    # ------------------------------------------------------------------ calls
    def visit_Call(self, node: ast.Call) -> None:
        name = dotted(node.func) or ""
        last = name.rsplit(".", 1)[-1] if name else (node.func.attr if isinstance(node.func, ast.Attribute) else "")
        if last in {"setattr", "delattr", "__setattr__", "__delattr__"} and (
                any(self.is_guarded(a) for a in node.args[:1]) or self.is_guarded(node.func) or
                last.startswith("__")):
            self.flag(node, "rebinds-library", f"calls {last} on a module, an imported object or builtins")
        if last in {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"} and \
                isinstance(node.func, ast.Attribute):
            owner = node.func.value
            owner_name = dotted(owner) or ""
            if owner_name in {"sys.modules", "__builtins__"} or owner_name.endswith(".__dict__") or (
                    isinstance(owner, ast.Call) and root_name(owner) in {"vars", "globals", "locals"}):
                self.flag(node, "rebinds-library", f"changes {owner_name or root_name(owner) + '()'} with .{last}()")
        if name.startswith("get_ipython().") or (isinstance(node.func, ast.Attribute) and root_name(node.func) == "get_ipython"):
            magic = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            if node.func.attr in {"run_line_magic", "run_cell_magic"} and magic in ALLOWED_MAGICS:
                return self.generic_visit_except_get_ipython(node)
            self.flag(node, "dynamic-code", "runs an IPython magic or shell command")
            return None
        if last in PROCESS_CALLS and root_name(node.func) in {"os", "posix"} | self.guarded:
            self.flag(node, "processes", f"calls {name or last}, which starts or signals processes")
        if last in FILE_CHANGES and root_name(node.func) in {"os", "shutil", "pathlib", "posix"} | self.guarded:
            self.flag(node, "changes-files", f"calls {name or last}, which deletes or changes files")
        if last in OUTSIDE_CALLS:
            self.flag(node, "reads-outside", f"calls {name or last}, which leaves the submission's folder")
        if name == "vars" and not node.args:
            self.flag(node, "inspects-grader", "calls vars() without an argument: the notebook's variables")
        if name in {"importlib.import_module", "importlib.reload"}:
            self.flag(node, "dynamic-code", f"calls {name}")
        self.generic_visit(node)

    def generic_visit_except_get_ipython(self, node: ast.Call) -> None:
        for argument in [*node.args, *node.keywords]:
            self.visit(argument)

    # --------------------------------------------------------------- imports
    def _module(self, node: ast.AST, module: str) -> None:
        if module in ALLOWED_MODULES or any(module.startswith(m + ".") for m in ALLOWED_MODULES):
            return
        top = module.split(".")[0]
        for modules, rule, what in ((DYNAMIC_MODULES, "dynamic-code", "runs code that cannot be checked"),
                                    (INSPECTION_MODULES, "inspects-grader", "reaches the grader's or the kernel's internals"),
                                    (PROCESS_MODULES, "processes", "starts processes or threads"),
                                    (NETWORK_MODULES, "network", "opens network connections")):
            if top in modules or module in modules:
                self.flag(node, rule, f"imports {module}, which {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            self._module(node, f"{module}.{alias.name}" if module else alias.name)
        if node.level:
            self.flag(node, "reads-outside", "imports relative to a package outside the submission")

    # --------------------------------------------------------------- strings
    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and len(node.value) < 4096 and PATH_OUTSIDE.search(node.value.strip()):
            self.flag(node, "reads-outside", f"names the path {node.value.strip()[:60]!r}, outside the submission's folder")


def aliases(guarded: set[str], trees: list[ast.Module]) -> set[str]:
    """``guarded`` with the names assigned from it: ``t = np.testing`` makes ``t`` guarded too."""
    guarded = set(guarded)
    for _ in range(3):   # an alias of an alias of an alias
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute, ast.Subscript)) \
                        and root_name(node.value) in guarded:
                    guarded |= {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return guarded


def check_cells(cells: list[tuple[int, str, bool]]) -> list[Finding]:
    """Check a notebook's code cells; return the findings of the students' cells.

    Parameters
    ----------
    cells : ``(index, source, kind)`` for every code cell in order, where ``kind`` is ``"test"``
        (a test cell, put back by nbgrader), ``"instructor"`` (a cell exactly as the instructor
        wrote it, other than an answer cell) or ``"student"`` (the answer cells, changed or not,
        and every other cell).
    """
    trees = {index: parse(source) for index, source, _ in cells}
    kinds = {index: kind for index, _, kind in cells}
    sources = {index: source for index, source, _ in cells}
    imported: dict[str, str] = {}
    instructor_bound: set[str] = set()
    for index, tree in trees.items():
        if tree is None:
            continue
        imported.update(import_bindings(tree))
        if kinds[index] != "student":
            instructor_bound |= set(top_level_bindings(tree))
    instructor_imports: dict[str, str] = {}
    for index, tree in trees.items():
        if tree is not None and kinds[index] != "student":
            instructor_imports.update(import_bindings(tree))
    read_by_tests: set[str] = set()
    for index, tree in trees.items():
        if tree is not None and kinds[index] == "test":
            read_by_tests |= free_names(tree)
    relied = read_by_tests & (instructor_bound | set(dir(builtins)))
    guarded = aliases(GUARDED_ROOTS | set(imported),
                      [tree for index, tree in trees.items() if tree is not None and kinds[index] == "student"])

    findings: list[Finding] = []
    for index, tree in trees.items():
        if kinds[index] != "student" or tree is None:
            continue
        lines = python_source(sources[index]).splitlines()
        checker = CellChecker(index, lines, guarded)
        checker.visit(tree)
        findings += checker.findings
        student_imports = import_bindings(ast.Module(body=[s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))], type_ignores=[]))
        for name, statement in top_level_bindings(tree).items():
            if name not in relied:
                continue
            if name in student_imports and instructor_imports.get(name) == student_imports[name]:
                continue   # the same import again
            checker.flag(statement, "shadows-name",
                         f"binds {name}, which the tests use as the instructor's or Python's {name}")
        findings += [f for f in checker.findings if f not in findings]
    return sorted(set(findings), key=lambda f: (f.cell_index, f.line, f.rule))
