"""Every module path the documentation names works after a bare ``import
vggzoo`` (and ``import vggzoo_export``): attribute access imports what it
names, as a reader of the docs types it (``vggzoo.eval.evaluate_protocols``,
``vggzoo.runtime.open_file``), without an explicit import of the submodule."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: A whole code span that is a dotted name in one of the two packages.
DOTTED = re.compile(r"`((?:vggzoo|vggzoo_export)(?:\.[A-Za-z_]\w*)+)(?:\(\))?`")

RESOLVE = """
import sys
import vggzoo, vggzoo_export
from vggzoo_export.core import contract
#: metadata keys written into exported files, not module paths
keys = {v for k, v in vars(contract).items() if k.endswith("_KEY") and isinstance(v, str)}
missing = []
for path in sys.argv[1:]:
    if path in keys:
        continue
    top, *parts = path.split(".")
    obj = sys.modules[top]
    try:
        for part in parts:
            obj = getattr(obj, part)
    except AttributeError as exc:
        missing.append(f"{path}: {exc}")
print("\\n".join(missing))
"""


def documented_paths() -> list[str]:
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return sorted({m for page in pages for m in DOTTED.findall(page.read_text())})


def test_every_documented_module_path_resolves_after_a_bare_import():
    paths = documented_paths()
    assert "vggzoo.runtime.open_file" in paths or len(paths) > 20  # the scan sees the docs
    done = subprocess.run([sys.executable, "-c", RESOLVE, *paths], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"documented but not reachable:\n{done.stdout}"


def test_submodules_load_on_attribute_access_and_import_vggzoo_stays_light():
    code = ("import sys, vggzoo\n"
            "heavy = sorted(m for m in ('torch', 'vggzoo.eval', 'vggzoo.runtime') if m in sys.modules)\n"
            "assert heavy == [], heavy\n"
            "assert callable(vggzoo.eval.evaluate_protocols)\n"
            "assert callable(vggzoo.runtime.open_file)\n"
            "assert callable(vggzoo.data.preprocess.to_input)\n"
            "assert callable(vggzoo.weights.named.get_weights)\n"
            "assert 'vggzoo_export.trt.runner' not in sys.modules\n"
            "import vggzoo_export\n"
            "assert callable(vggzoo_export.trt.convert_onnx_file)\n"
            "assert 'vggzoo_export.trt.runner' not in sys.modules\n"
            "try:\n    vggzoo.not_a_module\nexcept AttributeError as e:\n    print('OK', e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    assert "OK module 'vggzoo' has no attribute 'not_a_module'" in done.stdout
