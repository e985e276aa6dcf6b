# Two commands on a fresh machine with Python 3.11: `make demo` and `make test`
# (`make docs` builds the manual into site/, --strict).
# Both create .venv when missing; re-running is a no-op until a pyproject or
# the constraints change.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vggzoo-installed
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
INSTALL_INPUTS := pyproject.toml export/pyproject.toml constraints-dev.txt constraints-triton-site.txt \
	$(wildcard plugins/*/pyproject.toml)
# The Triton python backend's own numpy 1.x (its stub fails under numpy 2), see docs/serving.md.
TRITON_SITE := $(VENV)/vggzoo-triton-site

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
	# tritonserver (nvidia-pytriton ships it) without its numpy<2 pin; its python
	# backend gets numpy 1.x in a folder of its own.
	$(PY) -m pip install -q --no-deps -c constraints-dev.txt nvidia-pytriton
	$(PY) -m pip install -q --no-deps --upgrade --target $(TRITON_SITE) \
		-c constraints-triton-site.txt 'numpy<2'
	touch $(STAMP)

clean:
	rm -rf $(VENV) site
