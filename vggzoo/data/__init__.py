"""Training data: the paper's augmentations (:mod:`.transforms`), dataset
statistics for mean-RGB subtraction and PCA colour augmentation
(:mod:`.stats`), and an ImageFolder that skips unreadable images
(:mod:`.folder`)."""
