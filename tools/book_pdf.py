"""Print the whole book as one PDF (``make pdf``), offline.

1. Jupyter Book builds the book as one HTML page (``jupyter-book build --builder
   singlehtml``): the preface, the chapters, the exercise pages and the help pages in the
   order of ``_toc.yml``, with one numbering of chapters, figures and equations. Given the
   ``--path-output`` of an earlier HTML build (as ``make book`` and the test suite do), it
   reuses that build's parsed sources and only writes the page (a few seconds).
2. Debian's headless Chromium (the browser of the browser test, driven by Selenium, never
   downloaded) opens that page from a server on 127.0.0.1, waits until every image has loaded
   and MathJax, served with the book, has typeset every formula, and prints it with its own
   PDF printer (the DevTools command ``Page.printToPDF``): A4, page numbers in the footer,
   links kept (cross-references jump inside the PDF), an outline of the headings and a
   tagged PDF for screen readers. The course's style sheet (``@media print`` in
   ``tools/sphinx_course_static/course.css``) starts every document of the book on a new
   page and leaves out what only works on screen (sidebars, buttons, "Show code" toggles).
3. The PDF is written to ``<path-output>/_build/pdf/lr2dnn-course.pdf`` and, if the HTML book
   is there, copied into it (``_build/html/lr2dnn-course.pdf``), where the preface links to it.

Usage: ``python tools/book_pdf.py [--path-output DIR] [--if-chromium]`` (default: the
repository's folder, so ``_build/`` as ``make book`` uses). Needs ``apt-get install chromium
chromium-driver``; with ``--if-chromium`` (as ``make book`` calls it) a missing Chromium only
leaves the PDF out, with a warning, instead of failing.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDF_NAME = "lr2dnn-course.pdf"
"""The PDF's file name, in ``_build/pdf/`` and next to the HTML book's pages."""
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TYPESET_TIMEOUT = 300.0
"""Seconds MathJax may take to typeset the whole book in one page (about 10 s here)."""
PRINT_TIMEOUT = 900.0
"""Seconds Chromium may take to print it (about 30 s of one core here; far more on a busy
machine)."""

# A4 in inches, as the DevTools protocol wants it; margins leave room for the page number.
PRINT_OPTIONS = {
    "paperWidth": 8.27,
    "paperHeight": 11.69,
    "marginTop": 0.6,
    "marginBottom": 0.7,
    "marginLeft": 0.6,
    "marginRight": 0.6,
    "printBackground": True,
    "displayHeaderFooter": True,
    "headerTemplate": "<span></span>",
    "footerTemplate": ('<div style="font-size: 8pt; width: 100%; text-align: center;">'
                       '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'),
    "generateTaggedPDF": True,
    "generateDocumentOutline": True,
    "transferMode": "ReturnAsBase64",
}

WAIT_FOR_BOOK = r"""
const [timeoutMs, done] = arguments;
const start = Date.now();
// TeX that MathJax left as it was: its delimiters in the text, outside code and formulas
function rawTex() {
  const copy = document.querySelector("article.bd-article").cloneNode(true);
  copy.querySelectorAll("pre, code, script, style, mjx-container, .highlight, .cell_output")
      .forEach((node) => node.remove());
  const text = copy.textContent.replace(/\s+/g, " ");
  const found = [];
  for (const marker of ["$$", "\\(", "\\)", "\\[", "\\]", "\\begin{"]) {
    const at = text.indexOf(marker);
    if (at >= 0) found.push(text.slice(Math.max(0, at - 40), at + 40));
  }
  return found;
}
(function poll() {
  const images = Array.from(document.images);
  const mj = window.MathJax;
  const imagesDone = images.every((img) => img.complete);
  if (imagesDone && mj && mj.startup && mj.startup.promise) {
    mj.startup.promise.then(
      () => done({state: "ready", images: images.length, rawTex: rawTex(),
                  broken: images.filter((img) => img.naturalWidth === 0).map((img) => img.src),
                  formulas: document.querySelectorAll("mjx-container").length,
                  errors: Array.from(document.querySelectorAll("mjx-merror")).map(
                      (node) => node.getAttribute("data-mjx-error") || node.textContent)}),
      (error) => done({state: "error", message: String(error)}));
    return;
  }
  if (Date.now() - start > timeoutMs) {
    done({state: "timeout", imagesDone: imagesDone, mathjax: Boolean(mj && mj.startup)});
    return;
  }
  setTimeout(poll, 100);
})();
"""


class PdfError(RuntimeError):
    """The PDF could not be made; the message says why and what to do."""


@dataclass
class PdfReport:
    """What was printed: the file, its size in pages and how long each step took."""

    path: Path
    pages: int
    images: int
    formulas: int
    build_seconds: float
    print_seconds: float


def build_single_page(root: Path, path_output: Path) -> Path:
    """Build the one-page HTML book into ``<path_output>/_build/singlehtml``; return its page.

    Raises
    ------
    PdfError
        If Jupyter Book fails or warns (the book must build without warnings).
    """
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    process = subprocess.run(
        [str(jupyter_book), "build", str(root), "--builder", "singlehtml", "-W", "-n",
         "--keep-going", "--path-output", str(path_output)],
        capture_output=True, text=True, cwd=root, env={**os.environ, "NO_COLOR": "1"},
    )
    log = process.stdout + process.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    page = path_output / "_build" / "singlehtml" / "intro.html"
    if process.returncode != 0 or warnings or not page.is_file():
        raise PdfError("the one-page HTML build failed:\n" + "\n".join(warnings)
                       + "\n" + log[-3000:])
    return page


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


@contextlib.contextmanager
def serve(folder: Path, handler_class: type[http.server.SimpleHTTPRequestHandler] = _QuietHandler):
    """Serve a folder on 127.0.0.1 at a free port, with `handler_class`; yield its base address."""
    handler = functools.partial(handler_class, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium():
    """A headless Debian Chromium driven by Selenium; Selenium Manager is never asked."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        raise PdfError(f"Chromium is not installed ({', '.join(missing)} missing): "
                       "apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1800", "--disable-extensions", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                              options=options)
    try:
        driver.set_page_load_timeout(120)
        driver.set_script_timeout(TYPESET_TIMEOUT + 10)
        driver.command_executor.client_config.timeout = PRINT_TIMEOUT
        yield driver
    finally:
        driver.quit()


def print_page(page: Path, target: Path) -> tuple[int, int]:
    """Open a built HTML page in Chromium and print it to ``target``; (images, formulas).

    Raises
    ------
    PdfError
        If an image does not load, MathJax fails or leaves TeX it could not typeset, or
        the page takes longer than ``TYPESET_TIMEOUT`` seconds.
    """
    with serve(page.parent) as base, chromium() as driver:
        driver.get(base + page.name)
        state = driver.execute_async_script(WAIT_FOR_BOOK, TYPESET_TIMEOUT * 1000)
        if state["state"] != "ready":
            raise PdfError(f"the one-page book did not get ready to print: {state}")
        if state["broken"]:
            raise PdfError(f"images that did not load: {state['broken'][:5]}")
        if state["errors"]:
            raise PdfError(f"MathJax could not typeset: {state['errors'][:5]}")
        if state["rawTex"]:
            raise PdfError(f"TeX left untypeset in the text: {state['rawTex']}")
        if state["formulas"] == 0:
            raise PdfError("MathJax typeset no formula: is it served with the book?")
        result = driver.execute_cdp_cmd("Page.printToPDF", PRINT_OPTIONS)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(base64.b64decode(result["data"]))
    return state["images"], state["formulas"]


def count_pages(pdf: Path) -> int:
    """The number of pages of a PDF file (read with pypdf)."""
    from pypdf import PdfReader

    return len(PdfReader(pdf).pages)


def make_pdf(root: Path = ROOT, path_output: Path | None = None) -> PdfReport:
    """Build the one-page book, print it and put the PDF next to the HTML book if there is one."""
    path_output = Path(path_output or root).resolve()
    start = time.perf_counter()
    page = build_single_page(root, path_output)
    built = time.perf_counter()
    target = path_output / "_build" / "pdf" / PDF_NAME
    images, formulas = print_page(page, target)
    printed = time.perf_counter()
    html = path_output / "_build" / "html"
    if html.is_dir():
        shutil.copyfile(target, html / PDF_NAME)
    return PdfReport(target, count_pages(target), images, formulas,
                     built - start, printed - built)


_STARTED: dict[Path, Future] = {}
_STARTED_LOCK = threading.Lock()


def make_pdf_in_background(root: Path, path_output: Path) -> Future:
    """Start ``make_pdf`` in a thread, once per output folder; the future of its report.

    The test suite starts the PDF as soon as its HTML build is there, so that printing uses
    the second core while the browser test keeps the first busy; the PDF test then waits
    for the same future (or starts it, if it is the first to ask).
    """
    key = Path(path_output).resolve()
    with _STARTED_LOCK:
        if key not in _STARTED:
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="book-pdf")
            _STARTED[key] = worker.submit(make_pdf, root, key)
            worker.shutdown(wait=False)
        return _STARTED[key]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path-output", type=Path, default=ROOT,
                        help="the folder whose _build/ holds the book (default: the repository)")
    parser.add_argument("--if-chromium", action="store_true",
                        help="without Chromium, warn and make no PDF instead of failing")
    args = parser.parse_args(argv)
    if args.if_chromium and not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        print("make book: WARNING: no PDF of the book, since Chromium is not installed "
              "(apt-get install chromium chromium-driver); the preface's link to the PDF "
              "will not work in this build.", file=sys.stderr)
        return 0
    try:
        report = make_pdf(ROOT, args.path_output)
    except PdfError as error:
        print(f"make pdf: {error}", file=sys.stderr)
        return 1
    print(f"The PDF is at {report.path}: {report.pages} pages, {report.images} images, "
          f"{report.formulas} formulas; one-page build {report.build_seconds:.1f} s, "
          f"printing {report.print_seconds:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
