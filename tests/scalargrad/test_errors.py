"""Bad input gets a clear error that names the op and the value."""

import pytest

import scalargrad
from scalargrad import Value
from scalargrad.nn import MLP, Neuron
from scalargrad.optim import SGD


@pytest.mark.parametrize("bad", ["3", None, 2 + 1j, [1.0], True])
def test_value_of_a_non_number_is_a_type_error(bad):
    with pytest.raises(TypeError, match="Value: expected a real number"):
        Value(bad)


def test_value_of_nan_is_refused():
    with pytest.raises(ValueError, match="Value: got NaN"):
        Value(float("nan"))


def test_mixing_a_string_names_the_op():
    with pytest.raises(TypeError, match="add: expected a real number.*'3'"):
        Value(1.0) + "3"
    with pytest.raises(TypeError, match="mul: expected a real number"):
        None * Value(1.0)


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_of_non_positive(x):
    with pytest.raises(ValueError, match=f"log: input must be positive, got {x!r}"):
        Value(x).log()
    with pytest.raises(ValueError, match="log: input must be positive"):
        scalargrad.log(x)


def test_square_root_of_negative():
    with pytest.raises(ValueError, match=r"pow: -4.0 \*\* 0.5 is not a real number"):
        Value(-4.0) ** 0.5


def test_negative_base_with_a_value_exponent():
    with pytest.raises(ValueError, match="pow: base -2.0 is negative"):
        Value(-2.0) ** Value(3.0)


def test_zero_to_a_negative_power():
    with pytest.raises(ZeroDivisionError, match="pow: 0 ?.*divides by zero"):
        Value(0.0) ** -1


@pytest.mark.parametrize("make", [lambda: Value(1.0) / 0, lambda: 1.0 / Value(0.0)])
def test_division_by_zero(make):
    with pytest.raises(ZeroDivisionError, match="div: division by zero"):
        make()


def test_exp_overflow_is_named():
    with pytest.raises(OverflowError, match=r"exp: exp\(1000\) overflows"):
        Value(1000.0).exp()


def test_nn_and_optim_arguments():
    with pytest.raises(ValueError, match="Neuron: expected 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="unknown activation 'rleu'"):
        MLP(2, [3, 1], activation="rleu")
    with pytest.raises(ValueError, match="SGD: lr must be positive"):
        SGD(MLP(2, [1]).parameters(), lr=0)
