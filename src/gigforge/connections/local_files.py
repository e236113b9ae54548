"""Config fields that name a file or folder on the server stay inside one folder.

Some integrations read server files: the local ONNX runner its model, the template writer a
folder of templates. On a shared server a user must neither read another's files through them
nor learn which paths exist, so such fields (marked with `LOCAL_PATH` in their config model)
are resolved against the server's local files folder (`Settings.local_files_root`) before the
config model validates them: a relative path is taken inside it, and a path that resolves
outside it (`..`, absolute, or through a symlink) is refused without looking at the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gigforge.integrations.framework import LOCAL_PATH_KEY
from gigforge.kit.errors import ValidationFailed


def local_path_fields(model: type[BaseModel]) -> list[str]:
    return [
        name
        for name, field in model.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get(LOCAL_PATH_KEY)
    ]


def confine_local_paths(model: type[BaseModel], raw: dict[str, Any], root: Path) -> dict[str, Any]:
    """`raw` with every local path made absolute inside `root`, or a ValidationFailed."""
    base = root.expanduser().resolve()
    confined = dict(raw)
    for name in local_path_fields(model):
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        path = (base / Path(value.strip()).expanduser()).resolve()
        if not path.is_relative_to(base):
            raise ValidationFailed(
                "Local files must be inside the server's local files folder",
                errors=[
                    {
                        "loc": ["body", "config", name],
                        "msg": "must be a path inside the server's local files folder "
                        "(GIGFORGE_LOCAL_FILES_DIR); relative paths are taken inside it",
                        "type": "local_path_outside_root",
                    }
                ],
            )
        confined[name] = str(path)
    return confined
