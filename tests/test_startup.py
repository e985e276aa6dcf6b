"""Start-up stays light: `import vggzoo` does not import torch, and `vggzoo
list` (which loads every installed plugin) imports neither torchvision nor
timm, so it starts about as fast as `import torch` (bench/cli_startup.py
measures the ratio)."""

import subprocess
import sys


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_vggzoo_does_not_import_torch():
    out = _run("import sys, vggzoo\n"
               "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))\n"
               "vggzoo.list_models\n")
    assert out.strip() == "[]"


def test_vggzoo_list_loads_every_plugin_without_torchvision_or_timm():
    out = _run("import sys\n"
               "from vggzoo.cli import main\n"
               "assert main(['list']) == 0\n"
               "from vggzoo.plugins import records\n"
               "failed = [r.name for r in records() if not r.ok]\n"
               "heavy = [m for m in ('torchvision', 'timm', 'onnxruntime', 'openvino') "
               "if m in sys.modules]\n"
               "print('RESULT', failed, heavy)\n")
    assert "RESULT [] []" in out
    assert "vgg16_bn" in out and "timm/vgg16" in out  # the built-in and the timm plugin's models


def test_lazy_registrations_still_build_what_they_name():
    """What registration defers (torchvision's weights metadata, timm's
    builder, torchvision transforms) is there when used."""
    _run("import sys, vggzoo\n"
         "from vggzoo.weights.named import get_weights\n"
         "name, spec = get_weights('vgg16.tv_in1k')\n"
         "assert spec.num_classes == 1000 and spec.metrics['ImageNet-1K']['acc@1'] > 70, spec\n"
         "from vggzoo.plugins.registry import AUGMENTATIONS\n"
         "from vggzoo.data.scales import TrainScale\nfrom vggzoo.data.transforms import IMAGENET_PCA\n"
         "t = AUGMENTATIONS.get('pca-lighting').obj(scale=TrainScale.parse('256'), crop=224, "
         "pca=IMAGENET_PCA)\n"
         "assert type(t).__name__ == 'PCALighting'\n")
