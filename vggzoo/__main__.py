"""``python -m vggzoo`` is the ``vggzoo`` command."""

import sys

from .cli import main

sys.exit(main())
