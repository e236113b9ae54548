"""The predict contract as pure functions: declared tensors in, plain lists out."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from gigforge.integrations.framework import Permanent
from gigforge.integrations.onnx_local.mapping import TensorSpec, to_feeds, to_outputs, to_tensor

FEATURES = TensorSpec(name="features", type="tensor(float)", shape=("batch", 3))
FIXED = TensorSpec(name="window", type="tensor(float)", shape=(2, 3))


def test_a_node_arg_becomes_a_plain_spec() -> None:
    node = SimpleNamespace(name="features", type="tensor(float)", shape=["batch", 3, None])

    spec = TensorSpec.of(node)

    assert spec == TensorSpec(name="features", type="tensor(float)", shape=("batch", 3, None))
    assert spec.describe() == {
        "name": "features",
        "type": "tensor(float)",
        "shape": ["batch", 3, None],
    }


def test_a_non_tensor_output_has_no_shape() -> None:
    node = SimpleNamespace(
        name="output_probability", type="seq(map(int64,tensor(float)))", shape=[]
    )

    assert TensorSpec.of(node).shape == ()


def test_feeds_are_float32_arrays_by_name() -> None:
    feeds = to_feeds([FEATURES], {"features": [[1, 2, 3], [4, 5, 6]]})

    assert list(feeds) == ["features"]
    assert feeds["features"].dtype == np.float32
    assert feeds["features"].tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_unknown_names_are_listed_with_the_declared_ones() -> None:
    with pytest.raises(Permanent, match=r"no input named 'extra', 'other'; it takes 'features'"):
        to_feeds([FEATURES], {"features": [1, 2, 3], "other": [1], "extra": [2]})


def test_every_declared_input_is_required() -> None:
    mask = TensorSpec(name="mask", type="tensor(float)", shape=("batch", 3))

    with pytest.raises(Permanent, match=r"missing input 'mask'; the model takes 'features', "):
        to_feeds([FEATURES, mask], {"features": [1, 2, 3]})


def test_one_row_becomes_a_batch_of_one_under_a_symbolic_batch() -> None:
    assert to_tensor(FEATURES, [1, 2, 3]).shape == (1, 3)


def test_one_row_is_not_stretched_into_a_fixed_batch() -> None:
    with pytest.raises(Permanent, match=r"'window' must have shape \[2, 3\], got \[3\]"):
        to_tensor(FIXED, [1, 2, 3])


@pytest.mark.parametrize(
    ("value", "given"),
    [([[1, 2]], "[1, 2]"), ([[[1, 2, 3]]], "[1, 1, 3]"), (5.0, "[]")],
)
def test_a_shape_that_does_not_fit_is_refused(value: object, given: str) -> None:
    with pytest.raises(Permanent, match=re.escape(f"must have shape [batch, 3], got {given}")):
        to_tensor(FEATURES, value)


def test_unknown_dimensions_take_any_size() -> None:
    spec = TensorSpec(name="series", type="tensor(float)", shape=(None, "steps"))

    assert to_tensor(spec, [[1, 2, 3, 4, 5]]).shape == (1, 5)


def test_ragged_rows_are_refused() -> None:
    with pytest.raises(Permanent, match="rows of different lengths"):
        to_tensor(FEATURES, [[1, 2, 3], [4, 5]])


@pytest.mark.parametrize("value", [["a", "b", "c"], [True, False, True], [None, 1, 2]])
def test_anything_but_numbers_is_refused(value: object) -> None:
    with pytest.raises(Permanent, match="must hold only numbers"):
        to_tensor(FEATURES, value)


def test_a_number_beyond_float32_is_refused_rather_than_made_infinite() -> None:
    with pytest.raises(Permanent, match="too large for float32"):
        to_tensor(FEATURES, [1e39, 0, 0])


def test_only_float32_inputs_are_in_the_contract() -> None:
    ids = TensorSpec(name="ids", type="tensor(int64)", shape=("batch", 4))

    with pytest.raises(Permanent, match=r"'ids' is declared tensor\(int64\)"):
        to_tensor(ids, [[1, 2, 3, 4]])


def test_outputs_become_plain_lists_by_name() -> None:
    outputs = to_outputs(
        ["score", "label", "count", "output_probability"],
        [
            np.array([[0.25], [0.75]], dtype=np.float32),
            np.array([0, 1], dtype=np.int64),
            np.array(7, dtype=np.int64),
            [{np.int64(0): np.float32(0.5), np.int64(1): np.float32(0.5)}],
        ],
    )

    assert outputs == {
        "score": [[0.25], [0.75]],
        "label": [0, 1],
        "count": [7],
        "output_probability": [{0: 0.5, 1: 0.5}],
    }
    assert type(outputs["label"][0]) is int
    assert type(next(iter(outputs["output_probability"][0]))) is int
