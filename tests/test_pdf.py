"""The PDF of the book (``make pdf``, ``tools/book_pdf.py``): it builds, offline, and holds the
whole book.

The PDF is made once per test session from the session's HTML build (the ``built_book``
fixture): the one-page build reuses its parsed sources, so only writing the page and
printing it cost time, and the browser test starts it in the background, where it uses the
core the browser test leaves free. The tests read the PDF with pypdf and check its page count; that every
page of the table of contents starts a page of the PDF, with its title, in order; its figures
and typeset formulas; every numbered equation; cross-references that jump to the right page;
and that the HTML book's link to the PDF works. They read the text of the pages they look at
only (pypdf takes about 0.07 s a page).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[1]
PAGES_PER_DOCUMENT = (1, 40)
"""Least and most pages one document of the book may fill (every document starts a page)."""


def load_book_pdf():
    """``tools/book_pdf.py`` as the module ``book_pdf``, one module for every test file (the
    browser test starts the PDF in the background through it)."""
    if "book_pdf" not in sys.modules:
        spec = importlib.util.spec_from_file_location("book_pdf", ROOT / "tools" / "book_pdf.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["book_pdf"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["book_pdf"]


book_pdf = load_book_pdf()


@pytest.fixture(scope="module")
def made_pdf(built_book):
    """Make the PDF from the session's book build; (report, reader, one-page HTML)."""
    process, html = built_book
    missing = [str(p) for p in (book_pdf.CHROMIUM, book_pdf.CHROMEDRIVER) if not p.is_file()]
    if missing:
        message = f"Chromium is not installed ({', '.join(missing)} missing)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, so the PDF must be made, but {message}", pytrace=False)
        pytest.skip(f"PDF test skipped: {message}; apt-get install chromium chromium-driver")
    if not (html / "intro.html").is_file():
        pytest.fail("the book did not build:\n" + (process.stdout + process.stderr)[-3000:],
                    pytrace=False)
    start = time.perf_counter()
    # the browser test may have started it already, in the background
    report = book_pdf.make_pdf_in_background(ROOT, html.parents[1]).result()
    print(f"\n[pdf] {report.path.name}: {report.pages} pages, {report.images} images, "
          f"{report.formulas} formulas; one-page build {report.build_seconds:.1f} s, printing "
          f"{report.print_seconds:.1f} s; this test waited {time.perf_counter() - start:.1f} s")
    single = html.parent / "singlehtml" / "intro.html"
    return report, PdfReader(report.path), BeautifulSoup(single.read_text(), "html.parser")


@pytest.fixture(scope="module")
def destinations(made_pdf) -> dict[str, int]:
    """{anchor: page} for every named destination of the PDF (the ids of the HTML page)."""
    _, reader, _ = made_pdf
    return {name.lstrip("/"): reader.get_destination_page_number(target)
            for name, target in reader.named_destinations.items()}


@pytest.fixture(scope="module")
def page_text(made_pdf):
    """The text of one page of the PDF, whitespace collapsed (read once, when asked: pypdf
    takes about 0.07 s a page)."""
    _, reader, _ = made_pdf
    cache: dict[int, str] = {}

    def text(number: int) -> str:
        if number not in cache:
            cache[number] = " ".join(reader.pages[number].extract_text().split())
        return cache[number]
    return text


def squeeze(text: str) -> str:
    """Letters and digits only, lower case: how a title is found in text broken over lines."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def documents(single: BeautifulSoup) -> list[tuple[str, str, str]]:
    """(document, id of its first section, title) for every document after the preface."""
    found = []
    for anchor in single.select('span[id^="document-"]'):
        section = anchor.find_next("section")
        heading = section.find(re.compile("^h[1-6]$"))
        number = heading.find(class_="section-number")
        text = heading.get_text(" ").replace("#", "")
        if number is not None:
            text = text.replace(number.get_text(" "), "", 1)
        found.append((anchor["id"].removeprefix("document-"), section["id"], text.strip()))
    return found


def test_pdf_has_every_document_in_order_and_a_sensible_length(made_pdf, destinations,
                                                                page_text, root):
    """Each document of the table of contents starts on its own page, with its title, in
    the order of _toc.yml; the PDF has a plausible number of pages."""
    report, reader, single = made_pdf
    found = documents(single)
    toc = (root / "_toc.yml").read_text()
    assert [doc for doc, _, _ in found] == re.findall(r"file: (\S+)", toc)
    starts = []
    for document, section, title in found:
        assert section in destinations, f"no destination in the PDF for {document}"
        page = destinations[section]
        assert squeeze(title) in squeeze(page_text(page)), (
            f"page {page + 1} of the PDF, where {document} starts, lacks its title {title!r}")
        starts.append(page)
    assert starts == sorted(set(starts)), f"documents out of order or sharing a page: {starts}"
    assert squeeze("From Linear Regression to Deep Neural Networks") in squeeze(page_text(0))
    low, high = PAGES_PER_DOCUMENT
    assert low * (len(found) + 1) <= report.pages <= high * (len(found) + 1), report.pages
    assert report.pages == len(reader.pages)


def image_count(resources) -> int:
    """Images drawn from a page's resources, through nested forms, without decoding them."""
    objects = resources.get("/XObject") if resources else None
    count = 0
    for item in (objects.get_object().values() if objects else []):
        item = item.get_object()
        if item.get("/Subtype") == "/Image":
            count += 1
        elif item.get("/Subtype") == "/Form":
            count += image_count(item.get("/Resources"))
    return count


def test_pdf_has_the_figures_and_typeset_math(made_pdf):
    """Every figure is in the PDF; MathJax typeset every formula before printing (the tool
    refuses to print a page with TeX left in its text or a formula MathJax could not read)."""
    report, reader, single = made_pdf
    figures = [img for img in single.find_all("img") if "_images/" in img.get("src", "")]
    embedded = sum(image_count(page.get("/Resources")) for page in reader.pages)
    assert embedded >= len(figures) > 0, (embedded, len(figures))
    assert report.formulas >= len(single.select(".math")) > 0


def test_pdf_numbers_every_equation(made_pdf, destinations, page_text):
    """Every numbered equation is a destination of the PDF (links to it work); the number of
    each equation of chapter 1 and of the first of every other chapter is on the page it
    names (reading every equation's page would take pypdf about 10 s: MathJax's glyphs make
    those pages heavy)."""
    _, _, single = made_pdf
    equations = []
    for eqno in single.select("span.eqno"):
        anchor = eqno.find_parent(id=re.compile("^equation-"))["id"]
        equations.append((anchor, eqno.get_text(" ").replace("#", "").strip()))
    assert equations, "the book has no numbered equation"
    assert [anchor for anchor, _ in equations if anchor not in destinations] == []
    firsts = {}
    for anchor, number in equations:
        firsts.setdefault(number.strip("()").split(".")[0], (anchor, number))
    sample = {(a, n) for a, n in equations if n.startswith("(1.")} | set(firsts.values())
    missing = [(anchor, number, destinations[anchor] + 1) for anchor, number in sorted(sample)
               if not any(number in page_text(p) for p in (destinations[anchor],
                                                            destinations[anchor] + 1))]
    assert missing == []


def internal_links(reader: PdfReader) -> list[tuple[int, str]]:
    """(page, anchor) for every link of the PDF that jumps inside it."""
    links = []
    for number, page in enumerate(reader.pages):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") == "/Link" and "/Dest" in annotation:
                links.append((number, str(annotation["/Dest"]).lstrip("/")))
    return links


def test_pdf_cross_references_jump_to_their_targets(made_pdf, destinations, page_text):
    """The cross-references of the book are links in the PDF; the one to Fig. 1.1 jumps to
    the page with its caption."""
    _, reader, single = made_pdf
    links = internal_links(reader)
    targets = {anchor for _, anchor in links}
    numrefs = {a["href"].lstrip("#") for a in single.select("a.reference.internal[href^='#']")
               if a.find(class_="std-numref")}
    assert numrefs and numrefs <= targets, sorted(numrefs - targets)[:10]
    assert [anchor for anchor in targets if anchor not in destinations] == []
    figure = next(figure for figure in single.select("figure[id^='fig-ch01']")
                  if figure.select_one(".caption-number").get_text().strip() == "Fig. 1.1")
    caption = squeeze("Fig. 1.1" + figure.select_one(".caption-text").get_text(" "))[:50]
    assert figure["id"] in targets
    assert caption in squeeze(page_text(destinations[figure["id"]])), (
        f"the link to Fig. 1.1 jumps to page {destinations[figure['id']] + 1}, "
        "which does not show its caption")


def test_the_html_book_links_to_the_pdf(made_pdf, built_book):
    _, html = built_book
    preface = BeautifulSoup((html / "intro.html").read_text(), "html.parser")
    links = [a["href"] for a in preface.find_all("a", href=True)
             if a["href"].endswith(book_pdf.PDF_NAME)]
    assert links, "the preface does not link to the PDF"
    for link in links:
        assert (html / link).is_file(), f"the preface links to {link}, which is not there"


def test_pdf_tool_refuses_a_build_with_warnings(tmp_path, monkeypatch):
    """A one-page build that warns is an error, with the warning in the message."""
    class Finished:
        returncode, stdout, stderr = 0, "", "intro.md:3: WARNING: something is wrong\n"

    monkeypatch.setattr(book_pdf.subprocess, "run", lambda *args, **kwargs: Finished())
    with pytest.raises(book_pdf.PdfError, match="something is wrong"):
        book_pdf.build_single_page(ROOT, tmp_path)
