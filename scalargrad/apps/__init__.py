"""Applications built on scalargrad: the ``scalargrad draw`` CLI and its formula parser,
the moons demo, and the lecture's examples. They use the library; it never uses them."""
