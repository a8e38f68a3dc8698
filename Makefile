# The course's commands. `make book` and `make test` set everything up on a fresh machine.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
# A package index to search for torch besides PyPI. On Linux without a GPU, PyTorch's CPU index
# spares the CUDA build (several GB) that PyPI serves:
#   make book TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Empty (the default): pip uses its own configuration, as before.
TORCH_INDEX_URL ?=
PIP_INDEX_OPTIONS = $(if $(strip $(TORCH_INDEX_URL)),--extra-index-url $(strip $(TORCH_INDEX_URL)))

.PHONY: book pdf test lab benchmark clean

$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_INDEX_OPTIONS) -r requirements.txt -c constraints.txt
	touch $(STAMP)

## Build the HTML book from the stored notebook outputs (zero warnings allowed), then its PDF,
## which the preface links to (needs Chromium; without it the PDF is left out, with a warning).
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python tools/book_pdf.py --if-chromium
	@echo "The book is at $(CURDIR)/_build/html/index.html: open it in a browser."

## Print the whole book as one PDF, _build/pdf/lr2dnn-course.pdf, with Debian's headless
## Chromium (apt-get install chromium chromium-driver); offline.
pdf: $(STAMP)
	$(BIN)/python tools/book_pdf.py

## Run every test: helper unit tests, derivation checks, book build, launch links, the
## Colab check, and strict nbval over every chapter notebook.
test: $(STAMP)
	$(BIN)/python -m pytest tests chapters --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg --durations=10

## Start JupyterLab with the course environment.
lab: $(STAMP)
	$(BIN)/jupyter lab

## Execute every chapter notebook, print its time, and rewrite the status page of the book.
benchmark: $(STAMP)
	$(BIN)/python tools/benchmark.py --status status.md

clean:
	rm -rf _build .pytest_cache
