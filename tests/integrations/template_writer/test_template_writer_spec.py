"""The spec, the connect form, the shipped templates and the sandboxed environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gigforge.integrations.framework import AuthMode, Capability, Permanent, Registry
from gigforge.integrations.template_writer import (
    SPEC,
    TEMPLATE_FINISH_REASON,
    TemplateWriterConfig,
    TemplateWriterConnector,
)
from gigforge.integrations.template_writer.library import TemplateLibrary, shipped_templates


def test_it_says_it_is_not_ai() -> None:
    assert SPEC.title == "Template writer (not AI)"
    assert TEMPLATE_FINISH_REASON == "template"


def test_it_is_a_local_llm_with_no_credentials_and_no_limits() -> None:
    assert SPEC.capabilities == {Capability.llm}
    assert SPEC.auth_modes == (AuthMode.none,)
    assert SPEC.base_url == "local://templates"
    assert SPEC.rate_limits == ()
    assert SPEC.credential_field is None
    assert "nothing leaves the machine" in SPEC.terms.summary.lower()


def test_the_registry_offers_it_as_an_llm() -> None:
    registry = Registry([TemplateWriterConnector])

    assert [spec.slug for spec in registry.with_capability(Capability.llm)] == ["template_writer"]


def test_the_connect_form_needs_nothing() -> None:
    schema = SPEC.config_schema()

    assert "required" not in schema
    assert TemplateWriterConfig().templates_dir is None


def test_a_missing_templates_folder_is_a_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no folder at"):
        TemplateWriterConfig(templates_dir=str(tmp_path / "absent"))


def test_a_relative_folder_is_stored_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine").mkdir()
    monkeypatch.chdir(tmp_path)

    config = TemplateWriterConfig(templates_dir="mine")

    assert config.templates_dir == str((tmp_path / "mine").resolve())


def test_the_templates_ship_as_package_data() -> None:
    shipped = shipped_templates()

    assert sorted(shipped) == ["proposal.txt.j2", "summary.txt.j2"]
    assert all("{{ title }}" in text for text in shipped.values())


def test_the_library_without_a_folder_offers_the_shipped_templates() -> None:
    assert TemplateLibrary().check() == ["proposal", "summary"]


def test_the_sandbox_caps_range() -> None:
    library = TemplateLibrary()
    template = library.environment.from_string("{{ range(count) | list | length }}")

    assert template.render(count=10) == "10"
    with pytest.raises(OverflowError):
        template.render(count=10**6)


def test_a_template_that_cannot_use_its_variables_is_permanent(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "count.txt.j2").write_text("{{ range(title) | list | length }}", encoding="utf-8")

    with pytest.raises(Permanent, match="template:count could not be filled in"):
        TemplateLibrary(str(folder)).render("count", {"title": 10**6})


def test_a_template_that_is_not_text_shows_when_connecting(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "letter.txt.j2").write_bytes(b"\xff\xfe\x00binary")

    with pytest.raises(Permanent, match="template:letter is not UTF-8 text"):
        TemplateLibrary(str(folder)).check()
