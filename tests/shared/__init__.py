"""What both packages share: the op table, Value/Tensor parity, the graph walk, drawing,
the layout, the README and the notebooks."""
