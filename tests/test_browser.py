"""The built book, opened in a real browser: pages load cleanly, math is typeset, links are right.

The book is built once (the ``built_book`` fixture), served over HTTP on 127.0.0.1, and every
page of ``_toc.yml`` is opened in Debian's headless Chromium driven by Selenium. For each page
the test checks that the browser console shows no error, every image has loaded, MathJax has
typeset the math (no raw ``$$`` or ``\\(`` left in the text), the left sidebar links every entry of
the table of contents, and the Colab and Binder buttons open the page's own notebook in the
course repository. It also searches the book for a chapter 5 term and saves screenshots of the
preface and of chapter 1 (its top, and its first figure) into ``test-artifacts/screenshots/``.

Chromium is not a Python package: install it with ``apt-get install chromium chromium-driver``.
Without it the test is skipped, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import io
import os
import sys
import time
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml
from bs4 import BeautifulSoup
from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.selenium_manager import SeleniumManager

from lr2dnn.release import REPOSITORY_URL

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 1800)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
MATHJAX_TIMEOUT = 20.0  # seconds MathJax may take to typeset one page
IMAGE_TIMEOUT = 10.0  # seconds the images of one page may take to arrive
SEARCH_TIMEOUT = 15.0
SEARCH_TERM = "softmax"
SEARCH_TARGET = "chapters/05-softmax-regression"
SCREENSHOT_PAGES = {"preface": "intro", "chapter-01": "chapters/01-linear-regression"}
FIGURE_SHOT = ("chapter-01-figure", "chapters/01-linear-regression")
SELF_TEST_PREFIX = "/__browser_self_test__/"  # served from memory, never from the book folder


# ---------------------------------------------------------------------------------------------
# The table of contents and the configuration
# ---------------------------------------------------------------------------------------------

def _files(entries: list[dict]) -> list[str]:
    """Every ``file`` of a list of toc entries, with their nested ``sections``, in order."""
    files = []
    for entry in entries or []:
        if "file" in entry:
            files.append(str(entry["file"]).removesuffix(".md").removesuffix(".ipynb"))
        files.extend(_files(entry.get("sections", [])))
    return files


def toc_pages(root: Path = ROOT) -> tuple[str, list[str], list[str]]:
    """(root page, every page of the book in toc order, the pages listed directly in a part).

    The pages of a part are the ones the sidebar must link; nested sections may be folded away.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    parts = toc.get("parts") or [{"chapters": toc.get("chapters", [])}]
    top_level = [_files([entry])[0] for part in parts for entry in part.get("chapters") or []
                 if "file" in entry]
    pages = [str(toc["root"])] + [f for part in parts for f in _files(part.get("chapters"))]
    return str(toc["root"]), list(dict.fromkeys(pages)), top_level


def launch_settings(root: Path = ROOT) -> dict[str, str]:
    """The branch and the Colab and Binder addresses the book's launch buttons are built from."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    launch = config.get("launch_buttons") or {}
    return {
        "branch": str((config.get("repository") or {}).get("branch", "main")),
        "colab": str(launch.get("colab_url", "")).rstrip("/"),
        "binder": str(launch.get("binderhub_url", "")).rstrip("/"),
    }


ROOT_PAGE, PAGES, TOP_LEVEL = toc_pages()


def is_notebook(page: str, root: Path = ROOT) -> bool:
    return (root / f"{page}.ipynb").is_file()


def must_have_math(page: str) -> bool:
    """Every chapter has math; other pages are checked for math only when they have some."""
    return page.startswith("chapters/")


# ---------------------------------------------------------------------------------------------
# The server and the browser
# ---------------------------------------------------------------------------------------------

SELF_TEST_PAGE = r"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>A broken page</title>
<script>console.error("self-test: an error on purpose");</script>
</head><body>
<nav class="bd-docs-nav"><a href="/intro.html">only the preface</a></nav>
<a href="https://colab.research.google.com/github/someone/else/blob/main/wrong.ipynb">Colab</a>
<article class="bd-article">
  <p>Unparsed display math: $$ x^2 $$</p>
  <p>Untypeset inline math: <span class="math">\(x\)</span></p>
  <img src="/__browser_self_test__/missing.png" alt="a missing figure">
</article>
</body></html>
"""


INACCESSIBLE_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>An inaccessible page</title></head><body>
<main><article class="bd-article">
  <h1>Self-test</h1>
  <img src="/_static/images/logo_colab.png">
  <button></button>
  <button aria-label="Close the menu">Open the menu</button>
  <p style="color: #bbbbbb; background: #ffffff">Grey text on white, hard to read.</p>
  <table class="dataframe"><tr><th></th><th>a</th></tr><tr><th>0</th><td>1</td></tr></table>
  <details class="hide above-input" open><summary aria-label="Toggle hidden content">
    <p>Show code cell source</p></summary>
    <div class="cell_input"><pre>print("folded code that is not folded")</pre></div></details>
</article></main>
</body></html>
"""

SELF_TEST_PAGES = {"broken.html": SELF_TEST_PAGE, "inaccessible.html": INACCESSIBLE_PAGE}
"""Pages that must fail the checks, served from memory (never written into the book)."""


class _BookHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the HTML folder, plus deliberately broken pages used to test the checks."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        if path.startswith(SELF_TEST_PREFIX) and path[len(SELF_TEST_PREFIX):] in SELF_TEST_PAGES:
            body = SELF_TEST_PAGES[path[len(SELF_TEST_PREFIX):]].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


@pytest.fixture(scope="module")
def chromium() -> None:
    """Skip (or fail, in CI) when Debian's Chromium and its driver are not installed."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if not missing:
        return
    message = (f"browser test skipped: Chromium is not installed ({', '.join(missing)} missing). "
               "Install it with: apt-get install chromium chromium-driver")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, so the browser test must run, but {message.split(': ', 1)[1]}",
                    pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def book_url(built_book):
    """The built book served over HTTP on 127.0.0.1 at a free port; its base address."""
    process, html = built_book
    if not (html / f"{ROOT_PAGE}.html").is_file():
        pytest.fail("the book did not build, so there is nothing to open in the browser:\n"
                    + (process.stdout + process.stderr)[-3000:], pytrace=False)
    with load_book_pdf().serve(html, _BookHandler) as url:
        yield url


def start_chromium(profile: Path):
    """A headless Debian Chromium with its own profile folder; Selenium Manager is never asked."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 "--force-device-scale-factor=1", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))

    def no_selenium_manager(*args, **kwargs):
        raise AssertionError("Selenium Manager was called: it would download a browser or driver")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SeleniumManager, "binary_paths", no_selenium_manager)
        driver = webdriver.Chrome(service=service, options=options)
    driver.set_window_size(*WINDOW)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(MATHJAX_TIMEOUT + 60)
    return driver


def load_book_pdf():
    """``tools/book_pdf.py`` as the module ``book_pdf``, one module for every test file."""
    if "book_pdf" not in sys.modules:
        spec = importlib.util.spec_from_file_location("book_pdf", ROOT / "tools" / "book_pdf.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["book_pdf"] = module
        spec.loader.exec_module(module)
    return sys.modules["book_pdf"]


@pytest.fixture(scope="module")
def browser(chromium, book_url, built_book, tmp_path_factory, request):
    """One headless Chromium for the whole module, from Debian's packages; never downloaded.

    When the session also runs tests/test_pdf.py, it starts printing the PDF of the book in
    the background: the browser test keeps one core busy, the printing uses the other.
    """
    if any(item.path.name == "test_pdf.py" for item in request.session.items):
        load_book_pdf().make_pdf_in_background(ROOT, built_book[1].parents[1])
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def dark_browser(chromium, book_url, tmp_path_factory):
    """A second Chromium, switched to dark mode with the theme's own button.

    The theme keeps the chosen mode in the browser's local storage, so every page this
    browser opens afterwards is shown dark, as a reader who chose dark mode sees it.
    """
    driver = start_chromium(tmp_path_factory.mktemp("chromium-dark-profile"))
    try:
        driver.get(f"{book_url}{ROOT_PAGE}.html")
        names = choose_mode(driver, "dark")
        assert names[-1] == "Color mode: Dark", names
        yield driver
    finally:
        driver.quit()


# ---------------------------------------------------------------------------------------------
# The checks on one page
# ---------------------------------------------------------------------------------------------

WAIT_FOR_MATHJAX = """
const [timeoutMs, done] = arguments;
const start = Date.now();
(function poll() {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    const timer = setTimeout(() => done({state: "timeout"}), timeoutMs - (Date.now() - start));
    mj.startup.promise.then(
      () => { clearTimeout(timer); done({state: "typeset", version: mj.version || "?"}); },
      (error) => { clearTimeout(timer); done({state: "error", message: String(error)}); });
    return;
  }
  // MathJax's script is deferred: once the page's load event is over, it has run or failed.
  const loaded = document.readyState === "complete";
  if ((loaded && Date.now() - start > 2000) || Date.now() - start > timeoutMs) {
    const scripts = Array.from(document.scripts).map((s) => s.src).filter((s) => /mathjax/i.test(s));
    done({state: "missing", scripts: scripts});
    return;
  }
  setTimeout(poll, 50);
})();
"""

WAIT_FOR_IMAGES = """
const [timeoutMs, done] = arguments;
const start = Date.now();
(function poll() {
  const images = Array.from(document.images);
  if (images.every((img) => img.complete) || Date.now() - start > timeoutMs) {
    done(images.map((img) => ({src: img.currentSrc || img.src, complete: img.complete,
                               width: img.naturalWidth, height: img.naturalHeight})));
    return;
  }
  setTimeout(poll, 50);
})();
"""

# The article's visible text without code, scripts and typeset math, and what MathJax left.
MATH_STATE = """
const article = document.querySelector("article.bd-article");
if (!article) return null;
const copy = article.cloneNode(true);
copy.querySelectorAll("pre, code, script, style, mjx-container, .highlight, .cell_output")
    .forEach((node) => node.remove());
return {
  mathSpans: article.querySelectorAll(".math").length,
  containers: article.querySelectorAll("mjx-container").length,
  errors: Array.from(article.querySelectorAll("mjx-merror"))
      .map((node) => node.getAttribute("data-mjx-error") || node.textContent).slice(0, 5),
  text: copy.textContent,
};
"""

SIDEBAR_LINKS = """
const nav = document.querySelector("nav.bd-docs-nav");
if (!nav) return null;
const box = nav.getBoundingClientRect();
const style = getComputedStyle(nav);
return {
  visible: box.width > 0 && box.height > 0 && style.visibility !== "hidden",
  hrefs: Array.from(nav.querySelectorAll("a[href]")).map((a) => a.href),
};
"""

RAW_MATH = ("$$", "\\(", "\\)", "\\[", "\\]", "\\begin{")


def page_of(url: str, base: str) -> str | None:
    """The book page a URL points at (``chapters/01-x``), or None for other sites."""
    parsed, site = urlparse(url), urlparse(base)
    if (parsed.scheme, parsed.netloc) != (site.scheme, site.netloc):
        return None
    path = unquote(parsed.path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return path.removesuffix(".html")


def launch_problems(hrefs: list[str], page: str, settings: dict[str, str]) -> list[str]:
    """What is wrong with the Colab and Binder links of a notebook page (empty: nothing)."""
    owner_and_name = REPOSITORY_URL.removeprefix("https://github.com/").strip("/")
    notebook = f"{page}.ipynb"
    branch = settings["branch"]
    problems = []
    colab_host = urlparse(settings["colab"]).netloc or "colab.research.google.com"
    binder_host = urlparse(settings["binder"]).netloc or "mybinder.org"
    colab = [h for h in hrefs if urlparse(h).netloc == colab_host]
    binder = [h for h in hrefs if urlparse(h).netloc == binder_host]
    expected_colab = f"https://{colab_host}/github/{owner_and_name}/blob/{branch}/{notebook}"
    if not colab:
        problems.append(f"no Colab link (expected {expected_colab})")
    problems += [f"Colab link {h} is not {expected_colab}"
                 for h in colab if unquote(h) != expected_colab]
    if not binder:
        problems.append(f"no Binder link (expected one opening {notebook} in {REPOSITORY_URL})")
    for href in binder:
        parsed = urlparse(href)
        urlpath = parse_qs(parsed.query).get("urlpath", [""])[0]
        opened = urlpath.removeprefix("lab/tree/").removeprefix("tree/")
        if parsed.path != f"/v2/gh/{owner_and_name}/{branch}" or opened != notebook:
            problems.append(f"Binder link {href} does not open {notebook} of "
                            f"{REPOSITORY_URL} at {branch}")
    return problems


def inspect_page(driver, url: str, base: str, *, sidebar: list[str], notebook: str | None,
                 needs_math: bool) -> tuple[list[str], dict]:
    """Open a page and return what is wrong with it (empty: nothing) and a few facts about it."""
    problems: list[str] = []
    facts: dict = {}
    driver.get_log("browser")  # drop what an earlier page logged
    driver.get(url)

    # 2. images
    images = driver.execute_async_script(WAIT_FOR_IMAGES, IMAGE_TIMEOUT * 1000)
    facts["images"] = len(images)
    for image in images:
        if not image["complete"]:
            problems.append(f"image still loading after {IMAGE_TIMEOUT:.0f} s: {image['src']}")
        elif image["width"] == 0:
            problems.append(f"image did not load (naturalWidth 0): {image['src']}")

    # 3. math
    state = driver.execute_script(MATH_STATE)
    if state is None:
        problems.append("no <article class='bd-article'>: not a page of the book")
    else:
        has_math = state["mathSpans"] > 0
        if needs_math and not has_math:
            problems.append("the page has no math at all (no element of class 'math')")
        if has_math:
            mathjax = driver.execute_async_script(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT * 1000)
            facts["mathjax"] = mathjax
            if mathjax["state"] == "missing":
                problems.append("MathJax never started (window.MathJax.startup is missing); "
                                f"MathJax scripts of the page: {mathjax['scripts']}")
            elif mathjax["state"] == "timeout":
                problems.append(f"MathJax did not finish typesetting in {MATHJAX_TIMEOUT:.0f} s")
            elif mathjax["state"] == "error":
                problems.append(f"MathJax failed: {mathjax['message']}")
            state = driver.execute_script(MATH_STATE)
            if state["containers"] == 0:
                problems.append(f"no typeset math: {state['mathSpans']} math elements but "
                                "no mjx-container")
            if state["errors"]:
                problems.append(f"MathJax could not typeset some TeX: {state['errors']}")
        facts["math"] = state["containers"]
        text = " ".join(state["text"].split())
        for marker in RAW_MATH:
            where = text.find(marker)
            if where >= 0:
                problems.append(f"raw {marker!r} left in the text: ...{text[max(0, where - 40):where + 40]}...")

    # 4. sidebar
    nav = driver.execute_script(SIDEBAR_LINKS)
    if nav is None:
        problems.append("no left sidebar (nav.bd-docs-nav)")
    else:
        if not nav["visible"]:
            problems.append(f"the left sidebar is not shown at a window width of {WINDOW[0]} px")
        linked = {page_of(href, base) for href in nav["hrefs"]}
        missing = [entry for entry in sidebar if entry not in linked]
        if missing:
            problems.append(f"the sidebar does not link these toc entries: {missing}")
        facts["sidebar_links"] = len(nav["hrefs"])

    # 5. launch buttons
    if notebook is not None:
        hrefs = driver.execute_script(
            "return Array.from(document.querySelectorAll('a[href]')).map((a) => a.href);")
        problems += launch_problems(hrefs, notebook, launch_settings())

    # 1. console errors, read last so that late errors (MathJax, images) are included
    log = driver.get_log("browser")
    errors = [entry["message"] for entry in log if entry["level"] == "SEVERE"]
    problems += [f"console error: {message}" for message in errors]
    facts["console_warnings"] = [entry["message"] for entry in log if entry["level"] == "WARNING"]
    return problems, facts


# ---------------------------------------------------------------------------------------------
# Accessibility: axe-core, the two colour modes, the figures, the "Show code" toggles
# ---------------------------------------------------------------------------------------------

def axe_source() -> str:
    """The JavaScript of axe-core, as the PyPI package ``selenium-axe-python`` bundles it.

    It is installed by ``requirements.txt`` (pinned in ``constraints.txt``) and read from
    disk: nothing is downloaded when the test runs.
    """
    return (resources.files("selenium_axe_python") / "axe-core" / "axe.min.js").read_text(
        encoding="utf-8")


FAILING_IMPACTS = ("serious", "critical")
"""Violations of these impacts fail the test; minor and moderate ones are printed."""

COLOUR_RULES = ["color-contrast", "link-in-text-block"]
"""The rules whose result depends on the colours: run in light mode and again in dark mode."""

AXE_OPTIONS = {
    # axe's default rules (WCAG 2.0, 2.1 and 2.2 at levels A and AA, and best practices),
    # plus the experimental rule for WCAG 2.5.3 "Label in Name", which is off by default
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
}
COLOUR_OPTIONS = {"runOnly": {"type": "rule", "values": COLOUR_RULES},
                  "resultTypes": ["violations"]}

CODE_BLOCKS = 'div[class^="highlight-"]:not(.output)'
"""Blocks of highlighted source code: cell inputs and code in the prose, not cell outputs."""
CONTRAST_SELECTOR = f"*:not({CODE_BLOCKS} pre span)"
"""What axe-core's ``color-contrast`` checks on the pages: everything but the tokens of
highlighted source code (cell inputs and code in the prose; cell outputs are checked).

Their colours are Pygments token colours: a few dozen, the same on every page, but spread
over thousands of ``<span>`` elements, which took three quarters of axe-core's time on a
chapter. ``test_code_colours_have_contrast`` checks every token colour of the style sheet
instead, once, in both modes. (The rule's selector is changed with ``axe.configure``.)
"""

RUN_AXE = """
const [source, contrastSelector, context, options, done] = arguments;
if (!window.axe) {
  (0, eval)(source);
  axe.configure({rules: [{id: "color-contrast", selector: contrastSelector}]});
}
axe.run(context || document, options).then(
  (result) => done({version: axe.version,
                    checked: result.passes.reduce((n, rule) => n + rule.nodes.length, 0),
                    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({target: n.target.join(" "), html: n.html.slice(0, 200),
                                  summary: (n.failureSummary || "").slice(0, 300)}))}))}),
  (error) => done({error: String(error)}));
"""

WAIT_FOR_TRANSITIONS = """
const done = arguments[arguments.length - 1];
requestAnimationFrame(() => {
  const transitions = document.getAnimations().filter((a) => a instanceof CSSTransition);
  const timer = setTimeout(() => done(transitions.length), 3000);
  Promise.all(transitions.map((a) => a.finished)).finally(() => {
    clearTimeout(timer); done(transitions.length); });
});
"""


@functools.lru_cache(maxsize=1)
def _axe() -> str:
    return axe_source()


def run_axe(driver, context: dict | None = None, options: dict | None = None) -> dict:
    """Run axe-core on the page the browser shows; ``{"version", "violations"}``."""
    result = driver.execute_async_script(RUN_AXE, _axe(), CONTRAST_SELECTOR, context,
                                         options or AXE_OPTIONS)
    if "error" in result:
        raise AssertionError(f"axe-core failed on {driver.current_url}: {result['error']}")
    return result


def count_violations(violations: list[dict]) -> dict[tuple[str, str], int]:
    """{(rule, impact): number of elements} of an axe result."""
    counts: dict[tuple[str, str], int] = {}
    for violation in violations:
        key = (violation["id"], violation["impact"] or "?")
        counts[key] = counts.get(key, 0) + len(violation["nodes"])
    return counts


def violation_problems(violations: list[dict], mode: str) -> list[str]:
    """One line per element that breaks a serious or critical rule."""
    return [f"axe ({mode} mode): {v['impact']} {v['id']} ({v['help']}) at {n['target']}: "
            f"{n['html']} -- {n['summary']}"
            for v in violations if v["impact"] in FAILING_IMPACTS for n in v["nodes"]]


FIGURE_CONTRAST = 4.5
"""Least contrast between a figure's background and its text (WCAG 2.2 AA for text)."""
INK_SHARE = 0.0005
"""The darkest 0.05 % of a figure's pixels (about 130 of a figure 660 px wide) stand for its
text: the labels of the axes are darker than the coloured lines and fills."""

FIGURES = "article.bd-article img[src*='_images/']"
"""The book's own images (cell outputs and figures), not the theme's icons and logos."""

FIGURE_CONTRASTS = """
// For every image that matches the selector: draw it as the page shows it (what is behind
// it, its own background, its CSS filter: the theme dims images in dark mode) and measure
// the contrast between its paper, the commonest colour of its outer frame (2 px), and its
// ink, the luminance below which the darkest inkShare of its pixels lie (the text). Light
// ink on dark paper is measured the other way round. WCAG 2.2 relative luminance.
const [selector, inkShare] = arguments;
const channel = (c) => { c /= 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
const luminance = (r, g, b) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
const opaque = (colour) => colour && colour !== "transparent" && !/rgba\\(.*,\\s*0\\)$/.test(colour);
function backdrop(node) {
  for (let up = node.parentElement; up; up = up.parentElement) {
    const colour = getComputedStyle(up).backgroundColor;
    if (opaque(colour)) return colour;
  }
  return "white";
}
return Array.from(document.querySelectorAll(selector)).map((img) => {
  const style = getComputedStyle(img);
  const [left, top, right, bottom] = ["Left", "Top", "Right", "Bottom"].map(
      (side) => parseFloat(style["padding" + side]) || 0);
  const width = Math.round(img.clientWidth), height = Math.round(img.clientHeight);
  const w = Math.round(width - left - right), h = Math.round(height - top - bottom);
  if (!img.complete || img.naturalWidth === 0 || w < 8 || h < 8) {
    return {src: img.src, ratio: 0, reason: "not shown"};
  }
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  ctx.fillStyle = backdrop(img);
  ctx.fillRect(0, 0, width, height);
  ctx.filter = style.filter || "none";
  if (opaque(style.backgroundColor)) {
    ctx.fillStyle = style.backgroundColor;
    ctx.fillRect(0, 0, width, height);
  }
  ctx.drawImage(img, left, top, w, h);
  const data = ctx.getImageData(Math.round(left), Math.round(top), w, h).data;
  const lum = new Float32Array(w * h);
  const counts = new Map();
  for (let i = 0, p = 0; p < w * h; p++, i += 4) {
    lum[p] = luminance(data[i], data[i + 1], data[i + 2]);
    const x = p % w, y = (p - x) / w;
    if (x < 2 || y < 2 || x >= w - 2 || y >= h - 2) {
      const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      counts.set(key, (counts.get(key) || 0) + 1);
    }
  }
  let paperKey = 0, best = -1;
  for (const [key, n] of counts) { if (n > best) { best = n; paperKey = key; } }
  const paper = luminance(paperKey >> 16, (paperKey >> 8) & 255, paperKey & 255);
  const sorted = lum.slice().sort();
  const darkInk = sorted[Math.floor(inkShare * (sorted.length - 1))];
  const lightInk = sorted[Math.ceil((1 - inkShare) * (sorted.length - 1))];
  const ink = paper - darkInk >= lightInk - paper ? darkInk : lightInk;
  const ratio = (Math.max(paper, ink) + 0.05) / (Math.min(paper, ink) + 0.05);
  return {src: img.src, ratio: ratio, filter: style.filter, width: w, height: h};
});
"""


def figure_contrasts(driver, selector: str = FIGURES) -> list[dict]:
    """The contrast of every image that matches ``selector``, as the page shows it now."""
    return driver.execute_script(FIGURE_CONTRASTS, selector, INK_SHARE)


def figure_problems(driver, mode: str) -> tuple[list[str], list[float]]:
    """Check the contrast of every figure of the page in the current colour mode."""
    problems, ratios = [], []
    for figure in figure_contrasts(driver):
        ratios.append(figure["ratio"])
        if figure["ratio"] < FIGURE_CONTRAST:
            problems.append(f"figure {figure['src'].rsplit('/', 1)[-1][:16]}... has a contrast "
                            f"of {figure['ratio']:.2f}:1 in {mode} mode (at least "
                            f"{FIGURE_CONTRAST}:1 wanted; {figure.get('reason', '')})")
    return problems, ratios


SET_MODE = """
// what the theme's switch does to the page: the mode chosen, and the colours it stands for
document.documentElement.dataset.mode = arguments[0];
document.documentElement.dataset.theme = arguments[0];
"""


def set_mode(driver, mode: str) -> None:
    """Show the page the browser shows in the theme's light or dark colours."""
    driver.execute_script(SET_MODE, mode)
    wait_for_transitions(driver)


SWITCH = ".article-header-buttons .theme-switch-button"
"""The theme's light/dark switch in the bar above the article."""


def choose_mode(driver, mode: str, clicks: int = 3) -> list[str]:
    """Click the theme's switch until the page shows ``mode``; return the button's names.

    The switch cycles through light, system settings and dark; its accessible name (the
    hidden text of tools/sphinx_course_templates/theme-switcher.html) says the mode.
    """
    button = driver.find_element(By.CSS_SELECTOR, SWITCH)
    names = [button.accessible_name]
    for _ in range(clicks):
        if driver.execute_script("return document.documentElement.dataset.mode") == mode:
            break
        button.click()
        names.append(button.accessible_name)
    else:
        raise AssertionError(f"{clicks} clicks on the switch did not reach {mode}: {names}")
    return names


def wait_for_transitions(driver) -> None:
    """Let the theme's colour transitions end, so that axe-core sees the final colours."""
    driver.execute_async_script(WAIT_FOR_TRANSITIONS)


def audit_page(driver) -> tuple[list[str], dict]:
    """Audit the page the browser shows: every rule of ``AXE_OPTIONS`` in light mode, and
    the contrast of every figure in light mode and, switched as the theme does, in dark mode.
    The page is left in light mode."""
    result = run_axe(driver)
    problems = violation_problems(result["violations"], "light")
    found, light = figure_problems(driver, "light")
    problems += found
    try:
        set_mode(driver, "dark")
        found, dark = figure_problems(driver, "dark")
        problems += found
    finally:
        set_mode(driver, "light")
    return problems, {"axe_version": result["version"],
                      "counts": count_violations(result["violations"]),
                      "figure_contrast_light": min(light, default=None),
                      "figure_contrast_dark": min(dark, default=None)}


def audit_dark(driver, url: str) -> tuple[list[str], dict]:
    """Open a page in the dark-mode browser and run the colour rules on it."""
    driver.get(url)
    driver.execute_async_script(WAIT_FOR_IMAGES, IMAGE_TIMEOUT * 1000)
    if driver.execute_script("return document.querySelector('.math') !== null;"):
        driver.execute_async_script(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT * 1000)
    theme = driver.execute_script("return document.documentElement.dataset.theme")
    if theme != "dark":
        return [f"the dark-mode browser shows {url} in {theme!r} mode"], {}
    wait_for_transitions(driver)
    result = run_axe(driver, None, COLOUR_OPTIONS)
    return violation_problems(result["violations"], "dark"), count_violations(result["violations"])


HIDDEN_BLOCKS = """
return Array.from(document.querySelectorAll("article.bd-article details.hide")).map((d) => {
  const summary = d.querySelector(":scope > summary");
  const code = d.querySelector(".cell_input, .cell_output");
  return {open: d.open, summary: Boolean(summary),
          label: summary ? summary.getAttribute("aria-label") : null,
          visibleText: summary ? summary.innerText.trim() : "",
          codeShown: Boolean(code) && code.checkVisibility({visibilityProperty: true}) &&
                     code.getBoundingClientRect().height > 0,
          input: d.classList.contains("above-input")};
});
"""


def hidden_code_problems(driver) -> tuple[list[str], dict]:
    """Check the "Show code" toggles of the page; open and close the first with the keyboard.

    Every folded part is a ``<details>`` that starts closed, with a ``<summary>`` named by
    its visible text (no ``aria-label`` that says something else). The first folded input
    is then opened and closed with the Enter key, as a keyboard user would.
    """
    problems: list[str] = []
    blocks = driver.execute_script(HIDDEN_BLOCKS)
    facts = {"hidden": len(blocks), "hidden_inputs": sum(block["input"] for block in blocks)}
    for number, block in enumerate(blocks, start=1):
        if not block["summary"]:
            problems.append(f"folded block {number} has no <summary> to open it")
        elif block["label"] is not None:
            problems.append(f"folded block {number}: its toggle is labelled "
                            f"{block['label']!r} but shows {block['visibleText']!r}")
        if block["open"] or block["codeShown"]:
            problems.append(f"folded block {number} is not folded when the page opens")
    if not any(block["input"] for block in blocks):
        return problems, facts
    summary = driver.find_element(
        By.CSS_SELECTOR, "article.bd-article details.hide.above-input > summary")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    shown_before = summary.accessible_name
    summary.send_keys(Keys.ENTER)
    opened = driver.execute_script(HIDDEN_BLOCKS)
    first = next(block for block in opened if block["input"])
    shown_after = summary.accessible_name
    if not (first["open"] and first["codeShown"]):
        problems.append("Enter on the first 'Show code' toggle did not show the code")
    if not shown_before.startswith("Show") or not shown_after.startswith("Hide"):
        problems.append(f"the toggle's name should go from 'Show ...' to 'Hide ...', "
                        f"it went from {shown_before!r} to {shown_after!r}")
    summary.send_keys(Keys.ENTER)
    first = next(block for block in driver.execute_script(HIDDEN_BLOCKS) if block["input"])
    if first["open"] or first["codeShown"]:
        problems.append("Enter again on the first 'Show code' toggle did not fold the code")
    facts["toggle_names"] = (shown_before, shown_after)
    return problems, facts


def format_counts(counts: dict[tuple[str, str], int]) -> str:
    return ", ".join(f"{rule} ({impact}) x{n}" for (rule, impact), n in sorted(counts.items())) \
        or "none"


def report(page: str, problems: list[str]) -> str:
    return f"{page}: {len(problems)} problem(s)\n" + "\n".join(f"  - {p}" for p in problems)


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------

def test_table_of_contents_lists_chapters():
    assert ROOT_PAGE == "intro"
    chapters = [page for page in PAGES if page.startswith("chapters/")]
    assert chapters, "_toc.yml lists no chapter"
    for page in PAGES:
        assert (ROOT / f"{page}.ipynb").is_file() or (ROOT / f"{page}.md").is_file(), page


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(browser, book_url, page):
    start = time.perf_counter()
    url = f"{book_url}{page}.html"
    notebook = page if is_notebook(page) else None
    problems, facts = inspect_page(browser, url, book_url, sidebar=TOP_LEVEL,
                                   notebook=notebook, needs_math=must_have_math(page))
    found, toggles = hidden_code_problems(browser)
    problems += found
    if notebook is not None and toggles["hidden"] == 0:
        problems.append("a notebook page without a folded block (the Colab bootstrap is folded)")
    found, audit = audit_page(browser)
    problems += found
    print(f"\n[browser] {page}: {facts.get('images', 0)} images, {facts.get('math', 0)} typeset "
          f"formulas, {toggles['hidden']} folded blocks ({toggles['hidden_inputs']} inputs), "
          f"{time.perf_counter() - start:.1f} s; axe-core {audit['axe_version']}: "
          f"{format_counts(audit['counts'])}; least figure contrast "
          f"{audit['figure_contrast_light'] or 0:.1f}:1 light, "
          f"{audit['figure_contrast_dark'] or 0:.1f}:1 dark"
          + (f", console warnings: {facts['console_warnings']}" if facts.get("console_warnings")
             else ""))
    assert not problems, report(page, problems)


COLOURED_CLASSES = r"""
// every class name that a rule of the page's style sheets gives a colour or a background
const names = new Set();
function walk(rules) {
  for (const rule of rules) {
    const style = rule.style;
    if (style && rule.selectorText && (style.color || style.backgroundColor || style.background
                                       || style.borderColor)) {
      for (const match of rule.selectorText.matchAll(/\.([A-Za-z0-9_-]+)/g)) names.add(match[1]);
    }
    if (rule.cssRules) walk(rule.cssRules);
  }
}
for (const sheet of document.styleSheets) {
  try { walk(sheet.cssRules); } catch (error) { /* a sheet from elsewhere: none here */ }
}
return Array.from(names);
"""


def element_kinds(page: Path, coloured: set[str]) -> set[str]:
    """The kinds of element of a built page's article that may have colours of their own: its
    tag names, and its class names that a style sheet colours. Highlighted source code is left
    out (test_code_colours_have_contrast checks every token colour)."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article.bd-article")
    if article is None:
        return set()
    for code in article.select(CODE_BLOCKS + " pre"):
        code.decompose()
    nodes = [article, *article.find_all(True)]
    return ({f"<{node.name}>" for node in nodes}
            | {name for node in nodes for name in node.get("class", []) if name in coloured})


def covering_pages(kinds: dict[str, set[str]]) -> list[str]:
    """Few pages that together hold every kind any page holds (greedy set cover)."""
    left, chosen = set().union(*kinds.values()), []
    while left:
        best = max(kinds, key=lambda page: (len(kinds[page] & left), page == ROOT_PAGE))
        chosen.append(best)
        left -= kinds[best]
    return chosen


def test_dark_mode_colours(dark_browser, built_book, book_url):
    """The colour rules of axe-core, in dark mode, on pages that together hold every kind of
    element of the book that has colours of its own (every tag, and every class name the
    style sheets colour; the header, sidebars and footer are the same on every page).

    Dark mode changes colours, not content, and a colour belongs to a kind of element, the
    same on every page, so one page of each kind checks them all. The light-mode audit
    (test_page_in_browser) runs every rule on every page, and the figures of every page are
    checked there in both modes.
    """
    _, html = built_book
    dark_browser.get(f"{book_url}{ROOT_PAGE}.html")
    coloured = set(dark_browser.execute_script(COLOURED_CLASSES))
    assert len(coloured) > 100, "the style sheets colour suspiciously few classes"
    kinds = {page: element_kinds(html / f"{page}.html", coloured) for page in PAGES}
    pages = covering_pages(kinds)
    problems, counts = [], {}
    for page in pages:
        found, counted = audit_dark(dark_browser, f"{book_url}{page}.html")
        problems += [f"{page}: {line}" for line in found]
        for key, n in counted.items():
            counts[key] = counts.get(key, 0) + n
    print(f"\n[browser] dark mode, colour rules on {len(pages)} pages that hold all "
          f"{len(set().union(*kinds.values()))} kinds of coloured element ({', '.join(pages)}): "
          f"{format_counts(counts)}")
    assert problems == [], "\n".join(problems)


def test_page_cover_holds_every_class():
    classes = {"intro": {"a", "b"}, "x": {"b", "c", "d"}, "y": {"d", "e"}, "z": {"a"}}
    chosen = covering_pages(classes)
    assert set().union(*(classes[page] for page in chosen)) == {"a", "b", "c", "d", "e"}
    assert chosen == ["x", "intro", "y"]


def test_the_checks_catch_a_broken_page(browser, book_url):
    """The checks above can fail: a deliberately broken page trips every one of them."""
    problems, _ = inspect_page(browser, f"{book_url}{SELF_TEST_PREFIX.lstrip('/')}broken.html",
                               book_url, sidebar=TOP_LEVEL,
                               notebook="chapters/01-linear-regression", needs_math=True)
    text = "\n".join(problems)
    assert "image did not load" in text and "missing.png" in text, text
    assert "console error" in text and "an error on purpose" in text, text
    assert "console error" in text and "404" in text, text
    assert "MathJax never started" in text, text
    assert "no typeset math" in text, text
    assert "raw '$$' left in the text" in text, text
    assert "raw '\\\\(' left in the text" in text, text
    assert "the sidebar does not link" in text and TOP_LEVEL[-1] in text, text
    assert "Colab link" in text and "no Binder link" in text, text


def test_the_audit_catches_an_inaccessible_page(browser, book_url):
    """axe-core and the toggle checks can fail: a deliberately inaccessible page trips them."""
    browser.get(f"{book_url}{SELF_TEST_PREFIX.lstrip('/')}inaccessible.html")
    problems, facts = audit_page(browser)
    found = set(facts["counts"])
    for rule, impact in [("image-alt", "critical"), ("button-name", "critical"),
                         ("label-content-name-mismatch", "serious"),
                         ("color-contrast", "serious"), ("empty-table-header", "minor")]:
        assert (rule, impact) in found, (rule, found)
    assert any("image-alt" in line for line in problems), problems
    assert not any("empty-table-header" in line for line in problems), "minor ones only print"
    toggles, _ = hidden_code_problems(browser)
    text = "\n".join(toggles)
    assert "labelled 'Toggle hidden content'" in text and "is not folded" in text, text


def png_data_url(paper, ink, fill=None) -> str:
    """A 400 x 300 "figure": a paper colour, maybe a big coloured area, a label of ink."""
    image = Image.new("RGB", (400, 300), paper)
    if fill is not None:
        image.paste(fill, (20, 20, 380, 250))  # a big coloured area inside the frame
    image.paste(ink, (30, 260, 200, 275))  # a "label": 2,550 of 120,000 pixels
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_figure_contrast_tells_legible_from_illegible(browser, book_url):
    """Dark text on the figure's paper passes; the same text on a dark paper (a transparent
    figure on a dark page), or faint grey text, does not; the paper is read from the frame,
    not from the largest area; a CSS filter is applied as the page applies it."""
    cases = {"black on white": ("white", "black", None, "none"),
             "black on white, big pink area": ("white", "black", (228, 150, 160), "none"),
             "black on near-black": ((18, 18, 18), "black", None, "none"),
             "light grey on white": ("white", (190, 190, 190), None, "none"),
             "white on black": ("black", "white", None, "none"),
             "black on white, dimmed as in dark mode": ("white", "black", None,
                                                        "brightness(0.8) contrast(1.2)")}
    browser.get(f"{book_url}{SELF_TEST_PREFIX.lstrip('/')}inaccessible.html")
    browser.execute_script("""
        const box = document.querySelector("article");
        for (const [name, url, filter] of arguments[0]) {
          const img = document.createElement("img");
          img.className = "figure-self-test"; img.alt = name; img.src = url;
          img.style.filter = filter; img.style.width = "400px";
          box.append(img);
        }""", [[name, png_data_url(*case[:3]), case[3]] for name, case in cases.items()])
    browser.execute_async_script(WAIT_FOR_IMAGES, IMAGE_TIMEOUT * 1000)
    ratios = {case: figure["ratio"] for case, figure in
              zip(cases, figure_contrasts(browser, "img.figure-self-test"))}
    assert ratios["black on white"] == pytest.approx(21.0)
    assert ratios["black on white, big pink area"] == pytest.approx(21.0)
    assert ratios["black on near-black"] < 1.5
    assert ratios["light grey on white"] < FIGURE_CONTRAST
    assert ratios["white on black"] == pytest.approx(21.0)
    # brightness(0.8) then contrast(1.2): white becomes grey 219 (luminance 0.71), black stays
    assert ratios["black on white, dimmed as in dark mode"] == pytest.approx(15.1, abs=0.3)


def test_colour_mode_switch(browser, book_url):
    """The theme's switch goes light, system settings, dark, and says so in its name."""
    browser.get(f"{book_url}{ROOT_PAGE}.html")
    try:
        names = choose_mode(browser, "dark")
        assert names == ["Color mode: Light", "Color mode: System Settings", "Color mode: Dark"]
        assert browser.execute_script("return document.documentElement.dataset.theme") == "dark"
        browser.refresh()  # the choice is kept
        assert browser.execute_script("return document.documentElement.dataset.theme") == "dark"
    finally:
        assert choose_mode(browser, "light")[-1] == "Color mode: Light"


PALETTE = """
// one span of every token class the page's style sheets colour inside .highlight
const classes = new Set();
for (const sheet of document.styleSheets) {
  let rules;
  try { rules = sheet.cssRules; } catch (error) { continue; }
  for (const rule of rules) {
    for (const match of (rule.selectorText || "").matchAll(/\\.highlight \\.([a-z0-9]+)\\b/g)) {
      classes.add(match[1]);
    }
  }
}
const box = document.createElement("div");
box.id = "course-palette";
box.innerHTML = '<div class="highlight"><pre>' + Array.from(classes).sort().map(
    (name) => `<span class="${name}">token_${name}</span>`).join("\\n") + "</pre></div>";
document.querySelector("article.bd-article").prepend(box);
return Array.from(classes).sort();
"""


def test_code_colours_have_contrast(browser, dark_browser, book_url):
    """Every Pygments token colour of the book's style sheets, on the code background, in
    both modes (the per-page audits leave highlighted source code to this test)."""
    url = f"{book_url}troubleshooting.html"  # a short page: the style sheets are the same
    problems, classes = [], {}
    for mode, driver in (("light", browser), ("dark", dark_browser)):
        driver.get(url)
        classes[mode] = driver.execute_script(PALETTE)
        wait_for_transitions(driver)
        result = run_axe(driver, {"include": [["#course-palette"]]},
                         {"runOnly": {"type": "rule", "values": ["color-contrast"]},
                          "resultTypes": ["violations", "passes"]})
        problems += violation_problems(result["violations"], mode)
        assert result["checked"] + len(result["violations"]) >= len(classes[mode]), (
            f"axe-core checked only {result['checked']} token spans in {mode} mode")
    print(f"\n[browser] code colours: {len(classes['light'])} token classes checked in light "
          f"mode, {len(classes['dark'])} in dark mode")
    assert len(classes["light"]) >= 20 and len(classes["dark"]) >= 20, classes
    assert not problems, "\n".join(problems)


def test_launch_check_accepts_the_right_links_only():
    settings = {"branch": "main", "colab": "https://colab.research.google.com",
                "binder": "https://mybinder.org"}
    name = REPOSITORY_URL.removeprefix("https://github.com/")
    good = [f"https://colab.research.google.com/github/{name}/blob/main/chapters/01-x.ipynb",
            f"https://mybinder.org/v2/gh/{name}/main?urlpath=lab/tree/chapters/01-x.ipynb"]
    assert launch_problems(good, "chapters/01-x", settings) == []
    assert len(launch_problems(good, "chapters/02-y", settings)) == 2
    assert len(launch_problems([good[0].replace(name, "a/b"), good[1]],
                               "chapters/01-x", settings)) == 1
    assert page_of("http://127.0.0.1:8/chapters/01-x.html#top", "http://127.0.0.1:8/") \
        == "chapters/01-x"
    assert page_of("https://example.org/chapters/01-x.html", "http://127.0.0.1:8/") is None


def test_search_finds_a_chapter_5_term(browser, book_url):
    browser.get_log("browser")  # drop what an earlier page logged
    browser.get(f"{book_url}search.html?q={SEARCH_TERM}")
    deadline = time.monotonic() + SEARCH_TIMEOUT
    summary = ""
    while time.monotonic() < deadline:
        summary = browser.execute_script(
            "const s = document.querySelector('#search-results .search-summary');"
            "return s ? s.textContent : '';")
        if "finished" in summary or "did not match" in summary:
            break
        time.sleep(0.1)
    hrefs = browser.execute_script(
        "return Array.from(document.querySelectorAll('#search-results ul.search li a'))"
        ".map((a) => a.href);")
    found = [page_of(href, book_url) for href in hrefs]
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    print(f"\n[browser] search for {SEARCH_TERM!r}: {summary.strip()!r}; "
          f"{SEARCH_TARGET} is result {found.index(SEARCH_TARGET) + 1 if SEARCH_TARGET in found else '-'}"
          f" of {len(found)}")
    assert summary, f"the search page never reported a result in {SEARCH_TIMEOUT:.0f} s"
    assert SEARCH_TARGET in found, (f"searching {SEARCH_TERM!r} did not list {SEARCH_TARGET}.html;"
                                    f" summary {summary!r}, results {found}")
    assert errors == [], f"console errors on the search page: {errors}"


def test_screenshots(browser, dark_browser, book_url):
    """Save the top of the preface and of chapter 1, and chapter 1's first figure (in light
    and in dark mode), as PNG files."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = [(name, page, False, browser) for name, page in SCREENSHOT_PAGES.items()]
    shots.append((f"{FIGURE_SHOT[0]}", FIGURE_SHOT[1], True, browser))
    shots.append((f"{FIGURE_SHOT[0]}-dark", FIGURE_SHOT[1], True, dark_browser))
    for name, page, at_figure, browser in shots:
        browser.get(f"{book_url}{page}.html")
        browser.execute_async_script(WAIT_FOR_IMAGES, IMAGE_TIMEOUT * 1000)
        if browser.execute_script("return document.querySelector('.math') !== null;"):
            browser.execute_async_script(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT * 1000)
        if at_figure:
            found = browser.execute_script(
                "const img = document.querySelector('article.bd-article figure img, "
                "article.bd-article .cell_output img');"
                "if (!img) return false; img.scrollIntoView({block: 'center'}); return true;")
            assert found, f"{page} has no figure to photograph"
        path = SCREENSHOTS / f"{name}.png"
        assert browser.save_screenshot(str(path)), f"could not save {path}"
        assert path.stat().st_size > 10_000, f"{path} is suspiciously small"
        print(f"\n[browser] screenshot of {page}{' (first figure)' if at_figure else ''}: {path}")
