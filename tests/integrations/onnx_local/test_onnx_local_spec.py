"""The spec and the connect form: a local file, no credentials, nothing to pace."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gigforge.integrations.framework import AuthMode, Capability, Registry
from gigforge.integrations.onnx_local import SPEC, ONNXConfig
from gigforge.integrations.onnx_local.connector import ONNXConnector


def test_the_connect_form_asks_for_the_model_file_and_threads() -> None:
    schema = SPEC.config_schema()

    assert schema["required"] == ["model_path"]
    assert schema["properties"]["intra_op_threads"]["default"] == 1


def test_it_is_a_local_llm_with_no_credentials_and_no_limits() -> None:
    assert SPEC.capabilities == {Capability.llm}
    assert SPEC.auth_modes == (AuthMode.none,)
    assert SPEC.base_url == "local://onnx"
    assert SPEC.rate_limits == ()
    assert SPEC.credential_field is None
    assert "nothing leaves the machine" in SPEC.terms.summary.lower()


def test_the_registry_offers_it_as_an_llm() -> None:
    registry = Registry([ONNXConnector])

    assert [spec.slug for spec in registry.with_capability(Capability.llm)] == ["onnx_local"]


def test_a_missing_model_file_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no model file at"):
        ONNXConfig(model_path=str(tmp_path / "absent.onnx"))


def test_the_model_file_must_be_an_onnx_file(tmp_path: Path) -> None:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"torch weights")

    with pytest.raises(ValidationError, match=r"must end in \.onnx"):
        ONNXConfig(model_path=str(weights))


def test_a_relative_path_is_stored_absolute(
    scorer_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(scorer_path.parent)

    config = ONNXConfig(model_path=scorer_path.name)

    assert config.model_path == str(scorer_path.resolve())


@pytest.mark.parametrize("threads", [0, 65])
def test_thread_counts_are_bounded(scorer_path: Path, threads: int) -> None:
    with pytest.raises(ValidationError):
        ONNXConfig(model_path=str(scorer_path), intra_op_threads=threads)
