"""Helpers the Jira tests share: the sandbox clock, configs and the Basic credentials the
connection service would build for an API-token connection."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr

from gigforge.integrations.framework import HeaderCredentials, static_secret
from gigforge.integrations.jira import SPEC, JiraConfig, JiraConnector
from gigforge.integrations.jira.sandbox import SANDBOX_API_TOKEN, SANDBOX_EMAIL

SANDBOX_URL = "http://sandbox"


class Clock:
    """The sandbox's time: now, and still unless a test moves it."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def token_config(**overrides: Any) -> JiraConfig:
    values: dict[str, Any] = {"email": SANDBOX_EMAIL, "api_token": SANDBOX_API_TOKEN}
    values.update(overrides)
    return JiraConfig.model_validate(values)


def basic_credentials(config: JiraConfig) -> HeaderCredentials:
    """What the connection service builds from the spec: the derived secret, scheme Basic."""
    assert config.basic_credentials is not None
    return HeaderCredentials(
        static_secret(config.basic_credentials),
        header=SPEC.credential_header,
        scheme=SPEC.credential_scheme,
    )


ConnectorFactory = Callable[..., JiraConnector]


def wrong_token_config() -> JiraConfig:
    return token_config(api_token=SecretStr("not-the-token"))
