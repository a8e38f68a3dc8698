"""The course's Sphinx extension: fixes to the HTML book, for offline use and accessibility.

1. **MathJax served with the book**, instead of being loaded from a CDN.
2. **No script included twice.** sphinx-thebe adds an inline script (it declares
   ``THEBE_JS_URL``) in a way that Sphinx 7.4 includes twice in every page, and the second
   copy raises a ``SyntaxError`` in the browser; identical script entries are dropped.
3. **Accessible theme buttons.** The theme's search field and light/dark switch carry an
   ``aria-label`` that differs from the text they show (axe-core's rule
   ``label-content-name-mismatch``: speech-input users say what they see). The templates in
   ``tools/sphinx_course_templates/`` replace the two components: the search field is named
   by its visible text, and the switch by a hidden text that names the current mode. A third
   puts the book's title at the top of the sidebar inside a navigation landmark ("Home"), so
   that no content stands outside a landmark (axe-core's ``region``).
4. **Accessible "Show code" toggles.** myst-nb writes ``<summary aria-label="Toggle hidden
   content">`` around a ``hide-input`` cell, a name that differs from the visible "Show code
   cell source"; the summary is written here without it, so its name is its visible text.
5. **Table headers of data frames.** pandas writes the top-left corner of a data frame (and
   the empty cells next to an index's name) as an empty ``<th>``, a header that heads nothing
   (axe-core's ``empty-table-header``); such empty cells become ``<td>``.
6. **Bibliography entries as list items.** docutils gives each entry of the References page
   the role ``doc-biblioentry`` inside a ``role="list"``; ARIA 1.2 deprecates that role and a
   list must hold list items (axe-core: ``aria-required-children``, critical), so the
   entries get the role ``listitem``.
7. **Contrast.** ``tools/sphinx_course_static/course.css`` darkens the light theme's link
   colour, which had a contrast of 4.24:1 on the tinted boxes of sphinx-proof (WCAG AA asks
   for 4.5:1), and styles the printed book (``make pdf``).
8. **One-page HTML for the PDF.** The ``singlehtml`` builder that ``tools/book_pdf.py``
   prints finds no HTML writer for the nodes of several extensions (myst-nb, sphinx-proof,
   sphinx-design): Sphinx looks up node writers by builder name, and once one extension has
   registered a writer for ``singlehtml``, the ``html`` writers of the others are not used.
   They are copied over.

The HTML book must also work offline, for instance in a classroom without internet. MathJax
3 is taken from the ``django-static-mathjax`` package on PyPI (installed by
``requirements.txt``; it holds MathJax's files and nothing that runs in Python) and its
single-file SVG component ``tex-svg-full.js``, which needs no font files, is copied into the
build's ``_static/mathjax/`` folder. ``_config.yml`` enables this extension and sets
``mathjax_path`` to that file.
"""

from __future__ import annotations

import re
import shutil
from html import escape
from pathlib import Path

COMPONENT = "tex-svg-full.js"
"""The MathJax component served: TeX input, SVG output, every TeX extension preloaded."""

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "sphinx_course_templates"
"""Theme components replaced by accessible ones (searched before the theme's own)."""
STATIC = HERE / "sphinx_course_static"
"""Files copied into the book's ``_static/``."""
STYLESHEET = "course.css"


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


# ---------------------------------------------------------------------------------------------
# Accessibility
# ---------------------------------------------------------------------------------------------

def visit_hidden_code(self, node) -> None:
    """Open a folded cell part: a ``<details>`` whose ``<summary>`` is named by its own text.

    The same markup as myst-nb's, less the summary's ``aria-label``; the two prompts are
    shown one at a time by myst-nb's style sheet, so the name follows the state.
    """
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def depart_hidden_code(self, node) -> None:
    self.body.append("</details>\n")


TABLE = re.compile(r'<table\b[^>]*\bclass="[^"]*\bdataframe\b[^"]*"[^>]*>.*?</table>', re.S)
EMPTY_HEADER = re.compile(r"<th(\s[^>]*)?>\s*</th>")


def empty_headers_to_cells(html: str) -> str:
    """Write every empty ``<th>`` of a pandas data frame's table as an empty ``<td>``.

    Only tables of class ``dataframe`` (what pandas writes) are changed; a header with any
    content, even a space entity, stays a header.

    >>> empty_headers_to_cells('<table class="dataframe"><tr><th></th><th>a</th></tr></table>')
    '<table class="dataframe"><tr><td></td><th>a</th></tr></table>'
    """
    def fix(table: re.Match) -> str:
        return EMPTY_HEADER.sub(lambda th: f"<td{th.group(1) or ''}></td>", table.group(0))
    return TABLE.sub(fix, html)


BIBLIOGRAPHY_ENTRY = re.compile(r'(<div class="citation"[^>]*?) role="doc-biblioentry"')


def fix_page_body(app, pagename, templatename, context, doctree) -> None:
    """On every page: plain cells for the empty headers of data frames, and bibliography
    entries that are list items."""
    if "body" in context:
        body = empty_headers_to_cells(context["body"])
        context["body"] = BIBLIOGRAPHY_ENTRY.sub(r'\1 role="listitem"', body)


def use_course_templates(app, config) -> None:
    """Search the course's theme components before the theme's own."""
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.insert(0, str(TEMPLATES))
    if str(STATIC) not in config.html_static_path:
        config.html_static_path.append(str(STATIC))


def share_html_writers(app) -> None:
    """Give the ``singlehtml`` builder the HTML writer of every node that lacks one for it.

    Sphinx 7.4 looks up the writers of extension nodes by builder name and falls back on the
    format (``html``) only when no extension registered any writer for that name; here one
    did, so the nodes of the others would make the one-page build fail.
    """
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for name, writers in handlers.get("html", {}).items():
        single.setdefault(name, writers)


def setup(app):
    mathjax_source()  # fail early, with the fix in the message, if MathJax is missing
    from myst_nb.sphinx_ import HideCodeCellNode

    app.connect("config-inited", use_course_templates)
    app.connect("builder-inited", share_html_writers)
    app.connect("build-finished", copy_mathjax)
    app.connect("html-page-context", drop_repeated_scripts)
    app.connect("html-page-context", fix_page_body)
    app.add_node(HideCodeCellNode, override=True,
                 html=(visit_hidden_code, depart_hidden_code),
                 singlehtml=(visit_hidden_code, depart_hidden_code))
    app.add_css_file(STYLESHEET)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
