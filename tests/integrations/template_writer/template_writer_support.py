"""Templates the tests write into the user's folder, including attempts to leave the sandbox."""

from __future__ import annotations

from pathlib import Path

ESCAPES = {
    "escape_class": "{{ ''.__class__ }}",
    "escape_subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "escape_globals": "{{ cycler.__init__.__globals__ }}",
    "escape_variable": "{{ title.__class__.__base__ }}",
    "escape_format": "{{ '{0.__class__}'.format(title) }}",
    "escape_lipsum": "{{ lipsum.__globals__['os'] }}",
}


def write_folder(folder: Path, templates: dict[str, str]) -> Path:
    folder.mkdir()
    for file_name, text in templates.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    return folder
