"""scalargrad's display layer: DOT/SVG drawings, forward and backward traces, the stepper.

It reads only the node protocol (``data``, ``grad``, ``parents``, ``op``, ``name``), so it
draws vecgrad's tensors too. The engine never imports it; graphviz is imported here.
"""
