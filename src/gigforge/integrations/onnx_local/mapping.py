"""Pure translations between `predict`'s plain Python values and ONNX Runtime's tensors.

The contract, checked here before anything reaches the model so a mistake reads as the
caller's and names the input it concerns:

- Every input the model declares is given, by its declared name, and nothing else is.
- Every declared input is a float32 tensor (`tensor(float)`); models that take integer ids or
  strings are outside this connector's contract.
- A value is a number, a list of numbers or a list of equal-length lists of numbers; it is
  converted to float32 and must fit that type's range.
- Its shape matches the declared one: the same number of dimensions and, where the model fixes
  a size, that size. Symbolic dimensions (`batch`) take any size. A value with one dimension
  fewer than declared, where the model's first dimension is symbolic or 1, is one row of a
  batch: it is sent as a batch of one and its outputs keep that batch dimension.

Outputs come back by name as lists: tensors as nested lists (a rank-0 tensor as a one-item
list), sequences as lists, and maps (what skl2onnx's ZipMap emits) as plain dicts.
https://onnxruntime.ai/docs/api/python/api_summary.html#inferencesession

numpy is imported by the functions that build or read arrays, not with this module, which the
registry loads at start-up through the connector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gigforge.integrations.framework import Permanent
from gigforge.integrations.onnx_local.spec import SPEC

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatTensor = npt.NDArray[np.float32]

FLOAT_TENSOR = "tensor(float)"

Dimension = int | str | None


@dataclass(frozen=True)
class TensorSpec:
    """One declared input or output: ONNX Runtime's `NodeArg` reduced to plain values."""

    name: str
    type: str
    shape: tuple[Dimension, ...]

    @classmethod
    def of(cls, node_arg: Any) -> TensorSpec:
        """From an `onnxruntime.NodeArg`, whose shape lists ints, symbolic names or None."""
        dimensions = node_arg.shape or ()
        return cls(
            name=str(node_arg.name),
            type=str(node_arg.type),
            shape=tuple(
                dimension if isinstance(dimension, int | str) else None for dimension in dimensions
            ),
        )

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "shape": list(self.shape)}


def _rejected(detail: str) -> Permanent:
    return Permanent(f"{SPEC.title}: {detail}", integration=SPEC.slug)


def _is_fixed(dimension: Dimension) -> bool:
    return isinstance(dimension, int) and dimension >= 0


def _shape_text(shape: Sequence[Dimension]) -> str:
    return (
        "[" + ", ".join("?" if dimension is None else str(dimension) for dimension in shape) + "]"
    )


def to_feeds(
    declared: Sequence[TensorSpec], inputs: Mapping[str, object]
) -> dict[str, FloatTensor]:
    """The `input_feed` for `InferenceSession.run`, or `Permanent` naming what does not fit."""
    expected = [spec.name for spec in declared]
    unknown = sorted(set(inputs) - set(expected))
    if unknown:
        raise _rejected(
            f"the model has no input named {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(map(repr, expected))}"
        )
    missing = [name for name in expected if name not in inputs]
    if missing:
        raise _rejected(
            f"missing input {', '.join(map(repr, missing))}; "
            f"the model takes {', '.join(map(repr, expected))}"
        )
    return {spec.name: to_tensor(spec, inputs[spec.name]) for spec in declared}


def to_tensor(spec: TensorSpec, value: object) -> FloatTensor:
    """One value as a float32 array of the declared shape."""
    import numpy as np

    if spec.type != FLOAT_TENSOR:
        raise _rejected(
            f"input {spec.name!r} is declared {spec.type}; this connector feeds float32 "
            f"tensors ({FLOAT_TENSOR}) only"
        )
    try:
        array = np.asarray(value)
    except ValueError:
        raise _rejected(
            f"input {spec.name!r} has rows of different lengths; give equal-length rows"
        ) from None
    if array.dtype.kind not in "iuf":
        raise _rejected(f"input {spec.name!r} must hold only numbers")
    declared = spec.shape
    given = array.shape
    if array.ndim + 1 == len(declared) and not (_is_fixed(declared[0]) and declared[0] != 1):
        array = array[np.newaxis, ...]
    fits = array.ndim == len(declared) and all(
        given == dimension
        for given, dimension in zip(array.shape, declared, strict=True)
        if _is_fixed(dimension)
    )
    if not fits:
        raise _rejected(
            f"input {spec.name!r} must have shape {_shape_text(declared)}, got {_shape_text(given)}"
        )
    try:
        with np.errstate(over="raise"):
            return array.astype(np.float32)
    except FloatingPointError:
        raise _rejected(f"input {spec.name!r} holds a number too large for float32") from None


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def to_outputs(names: Sequence[str], values: Sequence[Any]) -> dict[str, list[Any]]:
    """What `InferenceSession.run(None, ...)` returned, by output name, as plain lists."""
    outputs: dict[str, list[Any]] = {}
    for name, value in zip(names, values, strict=True):
        plain = _plain(value)
        outputs[name] = plain if isinstance(plain, list) else [plain]
    return outputs
