"""Training data: the paper's augmentations (:mod:`.transforms`), dataset
statistics for mean-RGB subtraction and PCA colour augmentation
(:mod:`.stats`), and an ImageFolder that skips unreadable images
(:mod:`.folder`)."""

#: The paper's augmentations, in the order it applies them (here, not in
#: :mod:`.transforms`, so the CLI's help text does not import torchvision).
PAPER_AUGMENTATIONS: tuple[str, ...] = ("scale", "random-crop", "hflip", "pca-lighting")

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
