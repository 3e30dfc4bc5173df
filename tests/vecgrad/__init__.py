"""Tests of vecgrad: Tensor, its ops, nn, optim, transforms, conv, and the MNIST apps."""
