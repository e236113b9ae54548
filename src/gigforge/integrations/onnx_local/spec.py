"""A local ONNX model as declared once: a file on this machine, run by ONNX Runtime on the CPU.

Nothing here is HTTP, so the spec's HTTP fields say little: `base_url` is a `local://`
placeholder no transport can reach, there is no credential and no rate limit to budget. The
connect form asks only for the model file and how many threads one inference may use.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gigforge.integrations.framework.spec import (
    LOCAL_PATH,
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    TermsOfUse,
)

API_REFERENCE = "https://onnxruntime.ai/docs/api/python/api_summary.html"
MODEL_SUFFIX = ".onnx"


class ONNXConfig(BaseModel):
    """The model file and the CPU it may use. The path is stored absolute, so the connection
    means the same file whichever directory the server starts in."""

    model_config = ConfigDict(title="Local ONNX model", frozen=True)

    model_path: str = Field(
        min_length=1,
        title="Model file",
        description=(
            "An .onnx file in the server's local files folder, e.g. models/fit-scorer.onnx"
        ),
        json_schema_extra=LOCAL_PATH,
    )
    intra_op_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        title="Threads per inference",
        description="CPU threads one prediction may use; 1 keeps other work responsive",
    )

    @field_validator("model_path")
    @classmethod
    def _an_existing_onnx_file(cls, value: str) -> str:
        path = Path(value).expanduser()
        if path.suffix.lower() != MODEL_SUFFIX:
            raise ValueError(f"the model file must end in {MODEL_SUFFIX}: {value}")
        if not path.is_file():
            raise ValueError(f"no model file at {value}")
        return str(path.resolve())


SPEC = IntegrationSpec(
    slug="onnx_local",
    title="Local ONNX model",
    description=(
        "Runs an ONNX model you provide (a scorer or a classifier) on this machine with ONNX "
        "Runtime: named float inputs in, named outputs back. A task model, not a chat model."
    ),
    capabilities=frozenset({Capability.llm}),
    auth_modes=(AuthMode.none,),
    # Not an HTTP API: the model is the config's file. No transport serves `local://`.
    base_url="local://onnx",
    docs_url=API_REFERENCE,
    pagination=Pagination.none,
    test_call="Load the model: its declared input and output names, types and shapes",
    # A task model with named tensors, not a chat model: the model router never picks it.
    models=(),
    terms=TermsOfUse(
        url="https://github.com/microsoft/onnxruntime/blob/main/LICENSE",
        summary=(
            "Runs locally; nothing leaves the machine. ONNX Runtime is MIT-licensed; the "
            "model itself is the user's, under whatever licence it came with."
        ),
        allows=("Running the user's own model on the user's own inputs, as often as wanted",),
        forbids=("Uses the model's own licence forbids",),
    ),
    config_model=ONNXConfig,
)
