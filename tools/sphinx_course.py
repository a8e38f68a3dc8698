"""The course's Sphinx extension: two fixes to the HTML book.

1. **MathJax served with the book**, instead of being loaded from a CDN.
2. **No script included twice.** sphinx-thebe adds an inline script (it declares
   ``THEBE_JS_URL``) in a way that Sphinx 7.4 includes twice in every page, and the second
   copy raises a ``SyntaxError`` in the browser; identical script entries are dropped.

The HTML book must also work offline, for instance in a classroom without internet. MathJax
3 is taken from the ``django-static-mathjax`` package on PyPI (installed by
``requirements.txt``; it holds MathJax's files and nothing that runs in Python) and its
single-file SVG component ``tex-svg-full.js``, which needs no font files, is copied into the
build's ``_static/mathjax/`` folder. ``_config.yml`` enables this extension and sets
``mathjax_path`` to that file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

COMPONENT = "tex-svg-full.js"
"""The MathJax component served: TeX input, SVG output, every TeX extension preloaded."""


def mathjax_source() -> Path:
    """Return the path of the MathJax component inside the installed package.

    Raises
    ------
    RuntimeError
        If the package is not installed or does not hold the component.
    """
    try:
        import mathjax
    except ImportError as error:
        raise RuntimeError(
            "MathJax is not installed: run `pip install -r requirements.txt -c constraints.txt` "
            "(it provides the package django-static-mathjax)"
        ) from error
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / COMPONENT
    if not source.is_file():
        raise RuntimeError(f"the installed MathJax package has no {COMPONENT} at {source}")
    return source


def copy_mathjax(app, exception) -> None:
    """After an HTML build, put the MathJax component where ``mathjax_path`` points."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax" / COMPONENT
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mathjax_source(), target)


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep only the first of identical script entries of a page (same file, body, options)."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # a script is its file (None or "" for an inline script) and its attributes (an
        # inline script's code is the attribute "body")
        attributes = getattr(script, "attributes", {})
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    mathjax_source()  # fail early, with the fix in the message, if MathJax is missing
    app.connect("build-finished", copy_mathjax)
    app.connect("html-page-context", drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
