"""Library code stays library code: only the command-line modules touch the
terminal (rich, the CLI's output helpers, print), so vggzoo and
vggzoo-export can be used from a notebook, a service or a test without one."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = [REPO / "vggzoo", REPO / "export" / "vggzoo_export",
            *sorted(p.parent for p in REPO.glob("plugins/*/vggzoo_*/__init__.py"))]
#: The modules that own the screen.
CLI_MODULES = {"vggzoo.cli", "vggzoo.__main__", "vggzoo_export.cli", "vggzoo_export.cli.output",
               "vggzoo_export.cli.trt", "vggzoo_export.__main__"}
#: What a library module must not import: terminal libraries and the CLI
#: modules that use them (``trt.cli`` only parses arguments).
TERMINAL = ("rich", "tqdm", "vggzoo.cli", "vggzoo_export.cli", "vggzoo_export.cli.output")


def module_name(path: Path) -> str:
    root = next(p for p in PACKAGES if p in path.parents or p == path.parent)
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_cli(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in CLI_MODULES)


def terminal_uses(path: Path) -> list[str]:
    """``line: what`` for each import of a terminal module and each print()."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Name) and node.id == "print":
            # called, or handed on (``log=print`` as a default prints too)
            found.append(f"{node.lineno}: print()")
        for target in targets:
            if any(target == t or target.startswith(t + ".") for t in TERMINAL):
                found.append(f"{node.lineno}: import {target}")
                break
    return found


def modules():
    return sorted(p for root in PACKAGES for p in root.rglob("*.py"))


def test_the_scan_sees_the_packages_and_finds_terminal_code_where_it_lives():
    names = {module_name(p) for p in modules()}
    assert {"vggzoo.training.trainer", "vggzoo.eval.evaluate", "vggzoo_export.bench",
            "vggzoo_export.protocol.graph", "vggzoo.cli.output"} <= names
    # The detector works: the CLI's own output module imports rich, the
    # export CLI imports the core CLI's helpers, and relative imports resolve.
    assert any("import rich" in use for use in terminal_uses(REPO / "vggzoo/cli/output.py"))
    assert any("vggzoo.cli.output" in use
               for use in terminal_uses(REPO / "vggzoo/cli/train.py"))
    assert any("vggzoo.cli.output" in use
               for use in terminal_uses(REPO / "export/vggzoo_export/cli/output.py"))


@pytest.mark.parametrize("path", [p for p in modules() if not is_cli(module_name(p))],
                         ids=lambda p: module_name(p))
def test_library_module_never_touches_the_terminal(path):
    assert terminal_uses(path) == [], (
        f"{module_name(path)} draws on the terminal; take a progress callback "
        f"(vggzoo.progress) or return the data and let a CLI module print it")
