"""The template writer as declared once: Jinja2 templates filled on this machine, no model.

It is the drafting connection that is always there: no key, no network, no cost. Its title
says "not AI" because what it writes is a fixed text with blanks filled in, and the user must
never mistake it for a model's draft. There is nothing to authenticate or pace, and `base_url`
is a `local://` placeholder no transport can reach.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gigforge.integrations.framework.spec import (
    LOCAL_PATH,
    AuthMode,
    Capability,
    IntegrationSpec,
    ModelOffer,
    ModelTask,
    Pagination,
    TermsOfUse,
)

SANDBOX_REFERENCE = "https://jinja.palletsprojects.com/en/stable/sandbox/"

MODEL_PREFIX = "template:"
TEMPLATE_SUFFIX = ".txt.j2"
# Every result carries this finish_reason: the UI shows "written from a template, not by AI".
TEMPLATE_FINISH_REASON = "template"


class TemplateWriterConfig(BaseModel):
    """Only where the user's own templates live, if anywhere. The directory is stored absolute,
    so the connection means the same folder whichever directory the server starts in."""

    model_config = ConfigDict(title="Template writer (not AI)", frozen=True)

    templates_dir: str | None = Field(
        default=None,
        title="Your templates folder",
        description=(
            f"A folder of `<name>{TEMPLATE_SUFFIX}` files, used as model `{MODEL_PREFIX}<name>`; "
            "a file named like a built-in template (proposal, summary) replaces it; "
            "inside the server's local files folder"
        ),
        json_schema_extra=LOCAL_PATH,
    )

    @field_validator("templates_dir")
    @classmethod
    def _an_existing_directory(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_dir():
            raise ValueError(f"no folder at {value}")
        return str(path.resolve())


SPEC = IntegrationSpec(
    slug="template_writer",
    title="Template writer (not AI)",
    description=(
        "Drafts proposals and summaries by filling plain-text templates with the details you "
        "give it. Always available, free and instant; the text is a template's, not an AI's."
    ),
    capabilities=frozenset({Capability.llm}),
    auth_modes=(AuthMode.none,),
    # Not an HTTP API: the templates ship with Gigforge or sit in the config's folder.
    base_url="local://templates",
    docs_url=SANDBOX_REFERENCE,
    pagination=Pagination.none,
    test_call="Compile every template: the models it offers, such as template:proposal",
    # The built-in templates, offered to the model router as its last resort: free, local, and
    # rated 0 so it never prefers them to a model. The answer is labelled "not written by AI".
    models=tuple(
        ModelOffer(
            name=f"{MODEL_PREFIX}{task.value}",
            input_price_micro_usd=0,
            output_price_micro_usd=0,
            context_window=1_000_000,
            quality=0.0,
            latency_ms=0,
            tasks=frozenset({task}),
            leaves_machine=False,
        )
        for task in (ModelTask.proposal, ModelTask.summary)
    ),
    terms=TermsOfUse(
        url=SANDBOX_REFERENCE,
        summary=(
            "Runs locally; nothing leaves the machine. Templates run in Jinja2's sandbox, "
            "so a template can format the details it is given but cannot reach Python "
            "internals, files or the network."
        ),
        allows=("Drafting any number of texts from the built-in or the user's own templates",),
        forbids=("Presenting template text as written by AI, or by a person, when it is not",),
    ),
    config_model=TemplateWriterConfig,
)
