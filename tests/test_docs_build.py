"""The manual builds with ``mkdocs build --strict`` (what ``make docs``
runs): a broken link, a missing anchor or an API reference that no longer
resolves fails ``make test``, not just the docs job. The command-line
reference is generated from the real parsers, so every flag of every command
appears in it. (The pages' Python examples run through the Sybil collector
in the root conftest.py.)"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings_handlers.python",
                    reason="mkdocstrings-python is not installed (pip install -e '.[docs]')")
pytest.importorskip("material", reason="mkdocs-material is not installed (pip install -e '.[docs]')")


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of ``root/mkdocs.yml``, run from ``root``
    like ``make docs``, into ``site``."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(root / "mkdocs.yml"), "-d", str(site)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def _option_strings(parser: argparse.ArgumentParser):
    for action in parser._actions:
        yield from action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _option_strings(sub)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    result = build(REPO, site)
    assert result.returncode == 0, result.stderr[-3000:]
    return site


def test_every_flag_of_both_programs_is_in_the_cli_reference(site):
    from vggzoo.cli import build_parser
    from vggzoo_export.cli import main as export_main

    page = (site / "reference" / "cli" / "index.html").read_text()
    parsers = [build_parser(), export_main.export_parser(),
               *(getattr(export_main, f"{name}_parser")() for name in export_main.SUBCOMMANDS)]
    flags = {flag for parser in parsers for flag in _option_strings(parser)}
    assert {"--multi-scale", "--export-option", "--calibrate", "--resume"} <= flags
    missing = sorted(flag for flag in flags if f"<code>{flag}" not in page)
    assert not missing, f"flags missing from the CLI reference: {missing}"
    for command in ("vggzoo eval", "vggzoo data stats", "vggzoo-export bench"):
        assert f"<code>{command}</code>" in page


def test_api_reference_is_rendered_from_the_docstrings(site):
    page = (site / "reference" / "models" / "index.html").read_text()
    assert 'id="vggzoo.models.factory.create"' in page
    # The docstring's own words, not a stub.
    assert "num_classes=0" in page


def test_a_broken_link_fails_the_build(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(REPO / "docs", root / "docs")
    shutil.copy(REPO / "mkdocs.yml", root)
    (root / "bench").mkdir()
    shutil.copy(REPO / "bench" / "RESULTS.md", root / "bench")
    for package in ("vggzoo", "export"):   # the API reference reads the source
        (root / package).symlink_to(REPO / package)
    index = root / "docs" / "index.md"
    index.write_text(index.read_text() + "\nSee [the missing page](no-such-page.md).\n")
    result = build(root, tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr
