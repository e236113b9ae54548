"""A local ONNX model (a scorer, a classifier) run by ONNX Runtime; nothing leaves the machine."""

from gigforge.integrations.onnx_local.connector import ONNXConnector
from gigforge.integrations.onnx_local.spec import SPEC, ONNXConfig

__all__ = ["SPEC", "ONNXConfig", "ONNXConnector"]
