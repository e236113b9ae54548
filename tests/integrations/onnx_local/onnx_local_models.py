"""Small ONNX models built with the `onnx` helper API, with the weights the tests check
predictions against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = helper.make_opsetid("", 17)

SCORER_WEIGHTS = [0.5, -1.0, 2.0]
SCORER_BIAS = 0.1
CLASSIFIER_WEIGHTS = [[1.0, -1.0], [-1.0, 1.0]]
CLASSIFIER_BIAS = [0.0, 0.5]


def save(path: Path, graph: onnx.GraphProto) -> Path:
    model = helper.make_model(graph, opset_imports=[OPSET])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def constant(name: str, values: Any) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=np.float32), name)


def linear_scorer(path: Path) -> Path:
    """`score = sigmoid(features . w + b)` over three features, for any batch size."""
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "w"], ["weighted"]),
            helper.make_node("Add", ["weighted", "b"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["score"]),
        ],
        "fit_scorer",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
        [constant("w", [[weight] for weight in SCORER_WEIGHTS]), constant("b", [SCORER_BIAS])],
    )
    return save(path, graph)


def two_class_classifier(path: Path) -> Path:
    """`probabilities = softmax(features . W + b)` over two features, and `label = argmax`."""
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["features", "W", "b"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
            helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
        ],
        "two_class",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 2])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
        ],
        [constant("W", CLASSIFIER_WEIGHTS), constant("b", CLASSIFIER_BIAS)],
    )
    return save(path, graph)


def token_ids_model(path: Path) -> Path:
    """Takes int64 token ids: outside the connector's float32 contract."""
    graph = helper.make_graph(
        [helper.make_node("Cast", ["ids"], ["as_float"], to=TensorProto.FLOAT)],
        "token_ids",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", 4])],
        [helper.make_tensor_value_info("as_float", TensorProto.FLOAT, ["batch", 4])],
    )
    return save(path, graph)
