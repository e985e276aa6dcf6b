# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`.
# Both create .venv when missing; re-running is a no-op until a pyproject or
# the constraints change.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vggzoo-installed
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
INSTALL_INPUTS := pyproject.toml export/pyproject.toml constraints-dev.txt $(wildcard plugins/*/pyproject.toml)

.PHONY: demo test venv clean

demo: $(STAMP)
	$(VENV)/bin/vggzoo demo
	$(VENV)/bin/vggzoo-export demo

test: $(STAMP)
	$(PY) -m pytest -q

venv: $(STAMP)

$(STAMP): $(INSTALL_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-dev.txt torch torchvision
	$(PY) -m pip install -q -c constraints-dev.txt -e '.[dev]' -e './export[gpu,dynamo,triton]' \
		$(addprefix -e ./,$(PLUGIN_DIRS))
	touch $(STAMP)

clean:
	rm -rf $(VENV)
