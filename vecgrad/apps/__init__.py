"""Applications built on vecgrad: they use the library and are never used by it."""
