"""Fixtures of the evaluation tests (helpers live in eval_helpers.py, a
module name no other test folder uses)."""

from eval_helpers import checkpoint, image_folder, network  # noqa: F401  (fixtures)
