"""Each plugin distribution in plugins/ installs with pip and works from a
separate process: the path a real user takes (``pip install vggzoo-foo``).

Installed with ``--no-deps --target`` so the test needs no second copy of
torch; the subprocess finds the plugin only through its entry point.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What each plugin registers, checked in a fresh interpreter.
CHECKS = {
    "vggzoo-timm": (
        "import vggzoo, torch\n"
        "assert 'timm/vgg11' in vggzoo.list_models('timm/*'), vggzoo.list_models()\n"
        "m = vggzoo.create('timm/vgg11', fully_conv=True, num_classes=4).eval()\n"
        "assert m.score_map(torch.zeros(1, 3, 256, 256)).shape == (1, 4, 2, 2)\n"
    ),
    "vggzoo-cutout": (
        "import torch\n"
        "from vggzoo.plugins.registry import AUGMENTATIONS\n"
        "out = AUGMENTATIONS.get('cutout').obj(crop=224)(torch.ones(3, 224, 224))\n"
        "assert (out == 0).any() and (out == 1).any()\n"
    ),
    "vggzoo-lsuv": (
        "import torch, vggzoo\n"
        "from vggzoo.plugins.registry import INITIALIZERS\n"
        "entry = INITIALIZERS.get('lsuv')\n"
        "assert entry.info['needs_batch']\n"
        "entry.obj(vggzoo.create('vgg11', width_mult=1 / 16), batch=torch.randn(2, 3, 224, 224))\n"
    ),
    "vggzoo-openvino": (
        "import tempfile, pathlib, vggzoo, torch\n"
        "from vggzoo.plugins.registry import RUNNERS\n"
        "from vggzoo.runtime import create_runner\n"
        "from vggzoo_export.onnx.export import export_onnx\n"
        "assert 'openvino' in RUNNERS.names()\n"
        "m = vggzoo.create('vgg11', fully_conv=True, num_classes=2, width_mult=1 / 16).eval()\n"
        "path = pathlib.Path(tempfile.mkdtemp()) / 'm.onnx'\n"
        "export_onnx(m, path)\n"
        "x = torch.randn(2, 3, 224, 256)\n"
        "got = create_runner('openvino', onnx=path).logits(x)\n"
        "torch.testing.assert_close(got, m(x), rtol=1e-4, atol=1e-5)\n"
    ),
    "vggzoo-tencrop": (
        "import vggzoo, torch\n"
        "from vggzoo.plugins.registry import EVAL_PROTOCOLS\n"
        "from vggzoo.runtime import TorchRunner\n"
        "runner = TorchRunner(vggzoo.create('vgg11', num_classes=2, width_mult=1 / 16))\n"
        "p = EVAL_PROTOCOLS.get('tencrop').obj.posteriors(runner, [torch.rand(3, 240, 256)],\n"
        "                                                 flip=True, batch_size=10)\n"
        "assert p.shape == (1, 2)\n"
    ),
}


def test_every_plugin_distribution_has_a_check():
    assert sorted(p.parent.name for p in ROOT.glob("plugins/*/pyproject.toml")) == sorted(CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize("dist", sorted(CHECKS))
def test_pip_installed_plugin_is_found_through_its_entry_point(dist, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(target), str(ROOT / "plugins" / dist)], check=True, timeout=600)
    module = dist.replace("-", "_")
    script = (f"import {module}, sys\n"
              f"assert {module}.__file__.startswith({str(target)!r}), {module}.__file__\n"
              + CHECKS[dist])
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    listed = subprocess.run([sys.executable, "-m", "vggzoo", "plugins"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert dist in listed.stdout and "FAILED" not in listed.stdout, listed.stdout + listed.stderr
