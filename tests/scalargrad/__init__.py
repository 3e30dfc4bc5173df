"""Tests of scalargrad: its ops, forward mode, numerical differentiation, display and apps."""
