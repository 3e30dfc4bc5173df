"""`Module`: the machinery every vecgrad layer shares, separate from the layers themselves.

A module registers its parameters, buffers and submodules as they are assigned, walks
them in a fixed order (``parameters()``, ``named_modules()``), switches ``train()`` /
``eval()``, and saves its state as ``.npz`` (``state_dict()``, ``save``, ``load``, and
PyTorch's layout for interchange). The layers built on it live in `vecgrad.nn`;
scalargrad/module.py is the same idea for Values.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from scalargrad.files import atomic_write

from .tensor import Tensor


class Module:
    """A piece of a network: holds parameters, buffers and submodules, maps input to output.

    Assigning a Tensor that requires grad to an attribute registers it as a parameter;
    assigning a Module registers a submodule; ``register_buffer`` adds state that is saved
    but not trained (BatchNorm's running statistics). Registration keeps the order of
    assignment, so ``parameters()`` and ``state_dict()`` come out in a fixed order.
    Subclasses call ``super().__init__()`` first and define ``forward``.
    """

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = {}  # name → Tensor (requires grad), in assignment order
        d["_buffers"] = {}  # name → numpy array: saved in state_dict, not trained
        d["_modules"] = {}  # name → Module
        d["training"] = True

    # ---- registration ----------------------------------------------------------------

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() at the start of __init__, "
                f"before assigning attributes (here {name!r})"
            )
        # A name is in at most one registry: reassigning it may change its kind, except
        # that a parameter's name takes only a parameter (or None), as in torch: a plain
        # tensor there would drop out of parameters() and state_dict() without a word.
        if (
            name in d["_parameters"]
            and value is not None
            and not (isinstance(value, Tensor) and value.requires_grad)
        ):
            raise TypeError(
                f"{type(self).__name__}.{name} is a parameter: assign a Tensor that requires "
                f"grad (Tensor(data, requires_grad=True)) or None, got {_kind(value)}"
            )
        d["_parameters"].pop(name, None)
        d["_modules"].pop(name, None)
        if name in d["_buffers"]:
            if not isinstance(value, np.ndarray):
                raise TypeError(
                    f"{type(self).__name__}.{name} is a buffer: assign a numpy array, "
                    f"got {type(value).__name__}"
                )
            d["_buffers"][name] = value
        elif isinstance(value, Tensor) and value.requires_grad:
            if value.op is not None:
                raise ValueError(
                    f"{type(self).__name__}.{name}: a parameter must be a leaf tensor, but "
                    f"this one was computed by {value.op.name}; assign t.detach() made to "
                    "require grad, or store it under a name that does not start a graph"
                )
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            d["_modules"][name] = value
        d[name] = value  # also a plain attribute: lookups stay as fast as any attribute

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            d.get(registry, {}).pop(name, None)
        object.__delattr__(self, name)

    def __getattr__(self, name: str):
        # Called only when normal lookup fails: a typo, never a silent None.
        if name.startswith("__") or name in ("_parameters", "_buffers", "_modules"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        known = [n for n in self.__dict__ if not n.startswith("_")]
        known += [n for n in dir(type(self)) if not n.startswith("_")]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        names = list(self.__dict__.get("_parameters", {})) + list(self.__dict__.get("_modules", {}))
        listing = f" (its parameters and submodules: {', '.join(names)})" if names else ""
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}{hint}{listing}")

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Add ``array`` as state that ``state_dict()`` saves but optimizers never see."""
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"register_buffer: {name!r} must be a numpy array, got {type(array).__name__}"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers[name] = array
        self.__dict__[name] = array

    # ---- calling ---------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """Return the module's output (every subclass defines it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    # ---- walking the tree ------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for this module ("") and every submodule, depth first."""
        stack = [(prefix, self)]  # explicit stack: a deep Sequential must not recurse
        while stack:
            name, module = stack.pop()
            yield name, module
            children = [
                (f"{name}.{child}" if name else child, sub)
                for child, sub in module._modules.items()
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """Yield this module and every submodule, depth first."""
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        """Yield the direct submodules, in order."""
        yield from self._modules.values()

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """Yield ``(dotted name, parameter)`` pairs: ``("0.weight", W)``, in a fixed order."""
        seen = set()  # a parameter shared by two modules is listed (and stepped) once
        for prefix, module in self.named_modules():
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{prefix}.{name}" if prefix else name), p

    def parameters(self) -> list[Tensor]:
        """Return every trainable Tensor of this module and its submodules, in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(dotted name, array)`` for every buffer (running statistics ...)."""
        for prefix, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{prefix}.{name}" if prefix else name), b

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None (do it before each backward pass)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Put this module and its submodules in training mode (or eval when False); return self.

        Dropout drops and BatchNorm1d uses batch statistics only in training mode.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be True or False, got {mode!r}")
        for module in self.modules():
            module.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Put this module and its submodules in evaluation mode; return self."""
        return self.train(False)

    # ---- saving and loading ----------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Return name → copy of every parameter's and buffer's array, in a fixed order.

        Per module: its parameters, then its buffers, then its submodules' entries (the
        names and order of ``torch.nn.Module.state_dict``; ``Linear.weight`` is the
        transpose of torch's, see `Linear`).
        """
        state = {}
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name, p in module._parameters.items():
                state[dot + name] = p.data.copy()
            for name, b in module._buffers.items():
                state[dot + name] = b.copy()
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> Module:
        """Copy the arrays of ``state`` (from `state_dict` or an ``.npz``) into this module.

        Every name must match and every shape agree; otherwise a ValueError lists the
        missing and unexpected names and the shape mismatches, and nothing is changed.
        Returns self.
        """
        targets = {}
        for prefix, module in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for name in (*module._parameters, *module._buffers):
                targets[dot + name] = (module, name)
        names = list(state.keys())
        missing = [n for n in targets if n not in state]
        unexpected = [n for n in names if n not in targets]
        arrays, mismatched = {}, []
        for key, (module, name) in targets.items():
            if key not in state:
                continue
            current = module.__dict__[name]
            current = current.data if isinstance(current, Tensor) else current
            value = np.asarray(state[key])
            if value.shape != current.shape:
                mismatched.append(f"{key}: expected {current.shape}, got {value.shape}")
            elif value.dtype.kind not in "fiub":
                mismatched.append(f"{key}: expected numbers, got dtype {value.dtype}")
            else:
                arrays[key] = value.astype(current.dtype, copy=True)
        if missing or unexpected or mismatched:
            problems = []
            if missing:
                problems.append("missing: " + ", ".join(missing))
            if unexpected:
                problems.append("unexpected: " + ", ".join(unexpected))
            if mismatched:
                problems.append("wrong shape: " + "; ".join(mismatched))
            raise ValueError(
                f"load_state_dict: the state does not fit this {type(self).__name__} "
                f"({'; '.join(problems)})"
            )
        for key, (module, name) in targets.items():
            current = module.__dict__[name]
            if isinstance(current, Tensor):
                current.data = arrays[key]  # the same Tensor: optimizers keep working
                current.grad = None
            else:
                module.__dict__[name] = module._buffers[name] = arrays[key]
        return self

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``state_dict()`` to ``path`` (an ``.npz`` file) and return the path.

        The file is written beside its destination and renamed into place (`atomic_write`),
        so an interrupted save never leaves a truncated model behind.
        """
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"save: the file name must end in .npz, got {str(path)!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as file:  # a file object: savez adds no second suffix
            np.savez(file, **self.state_dict())
        return path

    def load(self, path: str | os.PathLike) -> Module:
        """Load the state saved by `save` from ``path`` into this module; return self."""
        with np.load(Path(path), allow_pickle=False) as archive:
            return self.load_state_dict({name: archive[name] for name in archive.files})

    # ---- PyTorch interchange (tests and benchmarks compare against torch.nn) ----------

    # Parameters a layer stores as the transpose of torch's (Linear's weight: (in, out)
    # here, (out, in) in torch.nn), so the interchange below transposes them.
    torch_transposed: tuple[str, ...] = ()

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """Return `state_dict` in torch.nn's layout: every Linear weight transposed to (out, in)."""
        state = self.state_dict()
        for key in self._torch_transposed_keys():
            state[key] = np.ascontiguousarray(state[key].T)
        return state

    def load_torch_state_dict(self, state: Mapping) -> Module:
        """Load a ``torch.nn`` state dict (tensors or arrays) of the same architecture; return self.

        Linear weights are transposed from torch's (out, in) to vecgrad's (in, out).
        """
        arrays = {name: _plain_array(value) for name, value in state.items()}
        ours = dict(self.named_parameters())
        for key in self._torch_transposed_keys():
            if key in arrays and arrays[key].ndim == 2:
                torch_shape = ours[key].shape[::-1]  # (out, in)
                if arrays[key].shape != torch_shape:
                    raise ValueError(
                        f"load_torch_state_dict: {key} has shape {arrays[key].shape}; torch's "
                        f"layout (out, in) for this model is {torch_shape}"
                    )
                arrays[key] = arrays[key].T
        return self.load_state_dict(arrays)

    def _torch_transposed_keys(self) -> list[str]:
        """The state_dict keys of every parameter stored transposed to torch's layout."""
        return [
            f"{prefix}.{name}" if prefix else name
            for prefix, module in self.named_modules()
            for name in module.torch_transposed
            if name in module._parameters
        ]

    # ---- printing --------------------------------------------------------------------

    def extra_repr(self) -> str:
        """Return the arguments shown between the parentheses of ``repr``."""
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, module in self._modules.items():
            text = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        return "\n".join(lines) + "\n)"


def _kind(value) -> str:
    """What ``value`` is, for a message: "a Tensor that does not require grad", "ndarray"."""
    if isinstance(value, Tensor):
        return "a Tensor that does not require grad"
    return type(value).__name__


def _plain_array(value) -> np.ndarray:
    """A torch tensor (detached, on the CPU) or array-like as a numpy array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


__all__ = ["Module"]
