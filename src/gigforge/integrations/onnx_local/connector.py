"""A user's own ONNX model, run in-process by ONNX Runtime on the CPU.

This connector is one of the documented exceptions to "one road out": it makes no HTTP call
at all, so `self.client` goes unused and the policy layer has nothing to pace, retry or log.
The model file is read from the local disk and every prediction runs on this machine; nothing
leaves it.

Such models are task models (a fit scorer, a classifier), not chat models, so the contract is
`predict`: named float inputs in, named outputs back (see `mapping` for the exact rules), and
`chat` is not supported. The session is built once per connector, on first use, and reused:
loading parses and optimizes the whole graph, which costs far more than one prediction. Both
loading and running block, so they run in a worker thread, never on the event loop.

ONNX Runtime (and numpy with it) is imported when a model is first loaded, not with this module:
the registry loads every connector at start-up, and the runtime takes a second or more. Without
the runtime installed this module still fails to import, with the ModuleNotFoundError the
registry reads to list the connector as one to enable.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework import (
    LLM,
    ChatRequest,
    ChatResult,
    IntegrationSpec,
    Permanent,
)
from gigforge.integrations.onnx_local.mapping import TensorSpec, to_feeds, to_outputs
from gigforge.integrations.onnx_local.spec import SPEC, ONNXConfig

if TYPE_CHECKING:
    from gigforge.integrations.onnx_local.mapping import FloatTensor

if importlib.util.find_spec("onnxruntime") is None:
    raise ModuleNotFoundError("No module named 'onnxruntime'", name="onnxruntime")

CPU_PROVIDER = "CPUExecutionProvider"
# ONNX Runtime prints its own warnings to stderr; errors still reach us as exceptions.
ORT_LOG_ERRORS_ONLY = 3


@cache
def ort_errors() -> tuple[type[Exception], ...]:
    """Everything ONNX Runtime raises from loading or running a model; they share no base
    class but `Exception`."""
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    return (
        ort_state.EPFail,
        ort_state.Fail,
        ort_state.InvalidArgument,
        ort_state.InvalidGraph,
        ort_state.InvalidProtobuf,
        ort_state.NoModel,
        ort_state.NoSuchFile,
        ort_state.NotImplemented,
        ort_state.RuntimeException,
    )


Inputs = Mapping[str, Sequence[float] | Sequence[Sequence[float]]]


@dataclass(frozen=True)
class LoadedModel:
    session: Any
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def output_names(self) -> list[str]:
        return [output.name for output in self.outputs]


def load_model(config: ONNXConfig) -> LoadedModel:
    """Build the session. The file is checked again here because the stored config was
    validated when the connection was made, and the file may have gone since."""
    path = Path(config.model_path)
    if not path.is_file():
        raise Permanent(
            f"{SPEC.title}: no model file at {path}; restore it or reconnect with another",
            integration=SPEC.slug,
        )
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = config.intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = ORT_LOG_ERRORS_ONLY
    try:
        session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=[CPU_PROVIDER]
        )
    except ort_errors() as exc:
        raise Permanent(
            f"{SPEC.title}: ONNX Runtime cannot load {path.name}: {exc}", integration=SPEC.slug
        ) from None
    return LoadedModel(
        session=session,
        inputs=tuple(TensorSpec.of(node) for node in session.get_inputs()),
        outputs=tuple(TensorSpec.of(node) for node in session.get_outputs()),
    )


def run_model(model: LoadedModel, feeds: Mapping[str, FloatTensor]) -> list[Any]:
    try:
        values: list[Any] = model.session.run(model.output_names, dict(feeds))
    except ort_errors() as exc:
        raise Permanent(
            f"{SPEC.title}: the model refused the inputs: {exc}", integration=SPEC.slug
        ) from None
    return values


class ONNXConnector(LLM):
    """One local model: `predict` for its declared inputs, `test` to describe them."""

    spec: ClassVar[IntegrationSpec] = SPEC
    config: ONNXConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, ONNXConfig):
            raise TypeError(f"ONNXConnector needs an ONNXConfig, not {type(config).__name__}")
        super().__init__(client, config)
        self._model: LoadedModel | None = None
        self._loading = asyncio.Lock()

    async def predict(self, inputs: Inputs) -> dict[str, list[Any]]:
        """Run the model once: inputs by their declared names, outputs by theirs.

        Raises `Permanent` when an input is missing, unknown, not numeric or of the wrong
        shape, when the model is not a float32 model, or when it cannot be loaded.
        """
        model = await self._loaded()
        feeds = to_feeds(model.inputs, inputs)
        values = await asyncio.to_thread(run_model, model, feeds)
        return to_outputs(model.output_names, values)

    async def chat(self, request: ChatRequest) -> ChatResult:
        raise self.not_supported(
            "chat",
            "ONNX models here are task models (a scorer, a classifier) that take named "
            "numbers, not chat models that take messages; call predict() with the model's "
            "inputs instead",
        )

    async def test(self) -> dict[str, Any]:
        """Load the model: proves the file is a model ONNX Runtime can run, and shows what
        `predict` must be given."""
        model = await self._loaded()
        return {
            "model_path": self.config.model_path,
            "inputs": [tensor.describe() for tensor in model.inputs],
            "outputs": [tensor.describe() for tensor in model.outputs],
        }

    async def _loaded(self) -> LoadedModel:
        """The cached model; a failed load is not cached, so a fixed file is picked up."""
        if self._model is not None:
            return self._model
        async with self._loading:
            if self._model is None:
                self._model = await asyncio.to_thread(load_model, self.config)
            return self._model
