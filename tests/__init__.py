"""The tests: scalargrad/, vecgrad/ (each package and its apps), shared/ (the op table,
parity, graph walk, drawing, layout, README and notebooks)."""
