"""The ONNX connector's contract, on models built and saved by the fixtures."""

from __future__ import annotations

import asyncio
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from onnx_local_models import CLASSIFIER_BIAS, CLASSIFIER_WEIGHTS, SCORER_BIAS, SCORER_WEIGHTS

from gigforge.integrations.framework import ChatMessage, ChatRequest, NotSupported, Permanent
from gigforge.integrations.onnx_local.connector import ONNXConnector

Connect = Callable[..., ONNXConnector]


def sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def expected_score(features: list[float]) -> float:
    return sigmoid(sum(x * w for x, w in zip(features, SCORER_WEIGHTS, strict=True)) + SCORER_BIAS)


def expected_probabilities(features: list[float]) -> list[float]:
    logits = [
        sum(features[row] * CLASSIFIER_WEIGHTS[row][column] for row in range(2))
        + CLASSIFIER_BIAS[column]
        for column in range(2)
    ]
    exponents = [math.exp(logit) for logit in logits]
    return [exponent / sum(exponents) for exponent in exponents]


async def test_the_scorer_scores_a_batch(connect: Connect, scorer_path: Path) -> None:
    batch = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-2.0, 1.5, 0.25]]

    outputs = await connect(scorer_path).predict({"features": batch})

    assert list(outputs) == ["score"]
    assert [row[0] for row in outputs["score"]] == pytest.approx(
        [expected_score(row) for row in batch], abs=1e-6
    )


async def test_one_row_is_scored_as_a_batch_of_one(connect: Connect, scorer_path: Path) -> None:
    outputs = await connect(scorer_path).predict({"features": [1.0, 2.0, 3.0]})

    assert outputs["score"] == [[pytest.approx(sigmoid(4.6), abs=1e-6)]]


async def test_the_classifier_gives_probabilities_and_labels(
    connect: Connect, classifier_path: Path
) -> None:
    batch = [[2.0, 0.0], [0.0, 1.0]]

    outputs = await connect(classifier_path).predict({"features": batch})

    for given, probabilities in zip(batch, outputs["probabilities"], strict=True):
        assert probabilities == pytest.approx(expected_probabilities(given), abs=1e-6)
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-6)
    assert outputs["label"] == [0, 1]


async def test_integer_inputs_are_accepted_as_floats(
    connect: Connect, classifier_path: Path
) -> None:
    outputs = await connect(classifier_path).predict({"features": [[2, 0]]})

    assert outputs["probabilities"][0] == pytest.approx(expected_probabilities([2, 0]), abs=1e-6)


async def test_test_describes_the_declared_inputs_and_outputs(
    connect: Connect, classifier_path: Path
) -> None:
    connector = connect(classifier_path)

    described = await connector.test()

    assert described == {
        "model_path": connector.config.model_path,
        "inputs": [{"name": "features", "type": "tensor(float)", "shape": ["batch", 2]}],
        "outputs": [
            {"name": "probabilities", "type": "tensor(float)", "shape": ["batch", 2]},
            {"name": "label", "type": "tensor(int64)", "shape": ["batch"]},
        ],
    }


async def test_an_unknown_input_name_is_refused_with_the_expected_names(
    connect: Connect, scorer_path: Path
) -> None:
    with pytest.raises(Permanent, match=r"no input named 'x'; it takes 'features'"):
        await connect(scorer_path).predict({"x": [1.0, 2.0, 3.0]})


async def test_a_missing_input_is_refused(connect: Connect, scorer_path: Path) -> None:
    with pytest.raises(Permanent, match=r"missing input 'features'"):
        await connect(scorer_path).predict({})


async def test_a_wrong_width_is_refused_before_the_model_runs(
    connect: Connect, scorer_path: Path
) -> None:
    with pytest.raises(Permanent, match=r"'features' must have shape \[batch, 3\], got \[1, 2\]"):
        await connect(scorer_path).predict({"features": [[1.0, 2.0]]})


async def test_an_integer_model_is_outside_the_contract(
    connect: Connect, token_model_path: Path
) -> None:
    with pytest.raises(Permanent, match=r"'ids' is declared tensor\(int64\).*float32"):
        await connect(token_model_path).predict({"ids": [[1, 2, 3, 4]]})


async def test_a_corrupt_model_file_is_permanent(connect: Connect, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.onnx"
    await asyncio.to_thread(path.write_bytes, b"this is not a protobuf")

    with pytest.raises(Permanent, match=r"cannot load corrupt\.onnx"):
        await connect(path).test()


async def test_a_model_removed_after_connecting_is_permanent(
    connect: Connect, scorer_path: Path
) -> None:
    connector = connect(scorer_path)
    await asyncio.to_thread(scorer_path.unlink)

    with pytest.raises(Permanent, match="no model file at"):
        await connector.predict({"features": [1.0, 2.0, 3.0]})


async def test_the_session_is_loaded_once_and_kept(connect: Connect, scorer_path: Path) -> None:
    connector = connect(scorer_path)
    first = await asyncio.gather(
        *(connector.predict({"features": [float(i), 0.0, 0.0]}) for i in range(4))
    )
    await asyncio.to_thread(scorer_path.unlink)

    again = await connector.predict({"features": [3.0, 0.0, 0.0]})

    assert again == first[3]


async def test_a_failed_load_is_retried_once_the_file_is_fixed(
    connect: Connect, scorer_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "replaced.onnx"
    await asyncio.to_thread(path.write_bytes, b"half-copied")
    connector = connect(path)
    with pytest.raises(Permanent):
        await connector.test()

    await asyncio.to_thread(shutil.copyfile, scorer_path, path)

    assert (await connector.test())["inputs"][0]["name"] == "features"


async def test_chat_is_not_supported_and_says_why(connect: Connect, scorer_path: Path) -> None:
    request = ChatRequest(model="fit-scorer", messages=[ChatMessage(role="user", content="hi")])

    with pytest.raises(NotSupported, match=r"task models.*not chat models.*predict\(\)"):
        await connect(scorer_path).chat(request)


async def test_nothing_goes_over_http(
    connect: Connect, classifier_path: Path, sent: list[httpx.Request]
) -> None:
    connector = connect(classifier_path)
    await connector.test()
    await connector.predict({"features": [[1.0, 1.0]]})

    assert sent == []
