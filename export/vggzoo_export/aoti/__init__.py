"""AOTInductor packages: export and runner (:mod:`.package`)."""
