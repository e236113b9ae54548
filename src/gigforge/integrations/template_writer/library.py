"""The templates a connection can use, in one sandboxed Jinja2 environment.

The shipped templates are package data (`templates/*.txt.j2`, read with importlib.resources,
so they load from a wheel or a zip as well as from a checkout); a user's folder comes first,
so a file there named like a shipped template replaces it. The environment is
`SandboxedEnvironment`: a template may format its variables but any reach for Python
internals (`''.__class__`, a function's `__globals__`) raises `SecurityError`, and `range` is
capped (https://jinja.palletsprojects.com/en/stable/sandbox/). `StrictUndefined` makes a
missing required variable an error instead of a silent blank; optional ones are written as
`{% if x is defined %}` or `x | default(...)` in the template. Autoescape is off: the output
is plain text, not HTML.

Listing and loading read files, so these methods block; the connector calls them in a thread.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    DictLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from gigforge.integrations.framework import Permanent
from gigforge.integrations.template_writer.mapping import is_template_name, model_for
from gigforge.integrations.template_writer.spec import SPEC, TEMPLATE_SUFFIX

# Raised by rendering when the variables have the wrong shape for what the template does
# with them (a filter on a number, an index past a list's end, a sandbox-capped `range`).
RENDER_ERRORS = (TemplateError, TypeError, ValueError, LookupError, ArithmeticError)


@cache
def shipped_templates() -> dict[str, str]:
    """The package's own templates by file name; read once per process."""
    folder = files("gigforge.integrations.template_writer").joinpath("templates")
    return {
        entry.name: entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(TEMPLATE_SUFFIX)
    }


def _rejected(detail: str) -> Permanent:
    return Permanent(f"{SPEC.title}: {detail}", integration=SPEC.slug)


class TemplateLibrary:
    def __init__(self, templates_dir: str | None = None) -> None:
        self.templates_dir = Path(templates_dir) if templates_dir else None
        loaders: list[BaseLoader] = [DictLoader(shipped_templates())]
        if self.templates_dir is not None:
            loaders.insert(0, FileSystemLoader(self.templates_dir, encoding="utf-8"))
        self.environment = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def names(self) -> list[str]:
        """Template names, sorted: file names without the suffix. Files in subfolders or
        with other characters than letters, digits, `-` and `_` are not offered."""
        if self.templates_dir is not None and not self.templates_dir.is_dir():
            raise _rejected(
                f"the templates folder {self.templates_dir} is gone; restore it or reconnect"
            )
        found = self.environment.list_templates(
            filter_func=lambda file_name: file_name.endswith(TEMPLATE_SUFFIX)
        )
        stems = (file_name.removesuffix(TEMPLATE_SUFFIX) for file_name in found)
        return sorted({stem for stem in stems if is_template_name(stem)})

    def check(self) -> list[str]:
        """Compile every template, so a syntax error shows when connecting, not when drafting."""
        names = self.names()
        for name in names:
            try:
                self.environment.get_template(name + TEMPLATE_SUFFIX)
            except TemplateSyntaxError as exc:
                raise self._syntax_error(name, exc) from None
            except UnicodeDecodeError:
                raise _rejected(f"{model_for(name)} is not UTF-8 text") from None
        return names

    def render(self, name: str, variables: dict[str, Any]) -> str:
        label = model_for(name)
        try:
            return self.environment.get_template(name + TEMPLATE_SUFFIX).render(variables)
        except SecurityError as exc:
            raise _rejected(
                f"{label} tried something the template sandbox forbids: {exc}"
            ) from None
        except UndefinedError as exc:
            raise _rejected(
                f"{label} needs a variable that was not given ({exc.message}); add it to the "
                "JSON object in the last user message"
            ) from None
        except TemplateSyntaxError as exc:
            raise self._syntax_error(name, exc) from None
        except RENDER_ERRORS as exc:
            raise _rejected(f"{label} could not be filled in: {exc}") from None

    @staticmethod
    def _syntax_error(name: str, exc: TemplateSyntaxError) -> Permanent:
        return _rejected(
            f"{model_for(name)} has a syntax error on line {exc.lineno}: {exc.message}"
        )
