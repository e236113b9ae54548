"""A local ONNX model (a scorer, a classifier) run by ONNX Runtime; nothing leaves the machine.

ONNX Runtime is an optional extra (`pip install 'gigforge[onnx]'`), so this package's face is the
spec alone: the registry reads it to explain how to enable the runner when the runtime is absent.
The connector lives in `connector`, which needs the runtime (and imports it on first use).
"""

from gigforge.integrations.onnx_local.spec import SPEC, ONNXConfig

__all__ = ["SPEC", "ONNXConfig"]
