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

import functools
import http.server
import os
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml
from selenium import webdriver
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


class _BookHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the HTML folder, plus one deliberately broken page used to test the checks."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.split("?")[0] == SELF_TEST_PREFIX + "broken.html":
            body = SELF_TEST_PAGE.encode()
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
    handler = functools.partial(_BookHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(chromium, book_url, tmp_path_factory):
    """One headless Chromium for the whole module, from Debian's packages; never downloaded."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 "--force-device-scale-factor=1", f"--window-size={WINDOW[0]},{WINDOW[1]}",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER))

    def no_selenium_manager(*args, **kwargs):
        raise AssertionError("Selenium Manager was called: it would download a browser or driver")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SeleniumManager, "binary_paths", no_selenium_manager)
        driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_window_size(*WINDOW)
        driver.set_page_load_timeout(30)
        driver.set_script_timeout(MATHJAX_TIMEOUT + 5)
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
    notebook = page if is_notebook(page) else None
    problems, facts = inspect_page(browser, f"{book_url}{page}.html", book_url, sidebar=TOP_LEVEL,
                                   notebook=notebook, needs_math=must_have_math(page))
    print(f"\n[browser] {page}: {facts.get('images', 0)} images, {facts.get('math', 0)} typeset "
          f"formulas, {time.perf_counter() - start:.1f} s"
          + (f", console warnings: {facts['console_warnings']}" if facts.get("console_warnings")
             else ""))
    assert not problems, report(page, problems)


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


def test_screenshots(browser, book_url):
    """Save the top of the preface and of chapter 1, and chapter 1's first figure, as PNG files."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = [(name, page, False) for name, page in SCREENSHOT_PAGES.items()]
    shots.append((f"{FIGURE_SHOT[0]}", FIGURE_SHOT[1], True))
    for name, page, at_figure in shots:
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
