# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`
# (`make docs` builds the manual into site/, --strict).
# Both create .venv when missing; re-running is a no-op until a pyproject or
# the constraints change.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vggzoo-installed
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
INSTALL_INPUTS := pyproject.toml export/pyproject.toml constraints-dev.txt $(wildcard plugins/*/pyproject.toml)

.PHONY: demo test docs venv clean

demo: $(STAMP)
	$(VENV)/bin/vggzoo demo
	$(VENV)/bin/vggzoo-export demo

test: $(STAMP)
	$(PY) -m pytest -q

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

venv: $(STAMP)

$(STAMP): $(INSTALL_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-dev.txt torch torchvision
	$(PY) -m pip install -q -c constraints-dev.txt -e '.[dev,docs]' -e './export[gpu,dynamo,triton]' \
		$(addprefix -e ./,$(PLUGIN_DIRS))
	touch $(STAMP)

clean:
	rm -rf $(VENV) site
