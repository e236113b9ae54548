"""Job alert emails as Gigforge sees them: a mailbox folder reached over IMAP4rev1 (RFC 3501).

Fiverr, Guru, PeoplePerHour, Toptal and Kwork offer no sanctioned API for finding work; what
they do offer is email: Fiverr sends matched briefs "via email" (help-pro.fiverr.com, article
28511727353873), PeoplePerHour emails matching projects to a pool of freelancers
(support.peopleperhour.com, article 205217687), and the others send job alerts and project
digests. The user files those messages into a folder with a mail filter; this integration
reads that folder, and nothing else.

There is no HTTP here, so the spec's HTTP fields say little: `base_url` is a placeholder (the
server is the config's `host`), there are no documented rate limits to budget, and the
credential lives in the config's `password` rather than in a header. The cursor is the IMAP
pair (UIDVALIDITY, UID), which RFC 3501 section 2.3.1.1 guarantees is never reused for another
message of the same mailbox.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    TermsOfUse,
)

IMAPSecurity = Literal["tls", "starttls", "none"]

CURSOR_PATTERN = r"^\d+:\d+$"
CURSOR_RE = re.compile(CURSOR_PATTERN)
IMAPS_PORT = 993
IMAP_PORT = 143


def is_loopback(host: str) -> bool:
    """Plain IMAP sends the password in the clear, which is only acceptable on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class IMAPAlertsConfig(BaseModel):
    """What the user enters to connect: the mailbox, its credentials and the alerts folder."""

    model_config = ConfigDict(title="Job alert emails (IMAP)", frozen=True)

    host: str = Field(
        min_length=1,
        max_length=253,
        description="IMAP server name, e.g. imap.gmail.com or outlook.office365.com",
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=f"Leave empty for {IMAPS_PORT} with TLS or {IMAP_PORT} otherwise",
    )
    security: IMAPSecurity = Field(
        default="tls",
        description=(
            "tls: IMAPS from the first byte; starttls: upgrade a plain connection; none: "
            "no encryption, accepted only for a server on this machine"
        ),
    )
    username: str = Field(min_length=1, max_length=320, description="Usually your address")
    password: SecretStr = Field(
        min_length=1,
        description="The mailbox password, or an app password where your provider offers one",
        json_schema_extra={"writeOnly": True},
    )
    folder: str = Field(
        default="INBOX",
        min_length=1,
        max_length=200,
        description="The folder your mail filter files the platforms' alerts into",
    )
    mark_read: bool = Field(
        default=False,
        description="Mark alerts read once they became listings; mail is otherwise untouched",
    )
    start_cursor: str | None = Field(
        default=None,
        pattern=CURSOR_PATTERN,
        description="Resume after this `UIDVALIDITY:UID`, as a listing's cursor reports it",
    )
    max_messages_per_scan: int = Field(
        default=200,
        ge=1,
        le=5000,
        description="Messages read per scan; a folder with more is caught up over several scans",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @model_validator(mode="after")
    def _cleartext_only_on_loopback(self) -> IMAPAlertsConfig:
        if self.security == "none" and not is_loopback(self.host):
            raise ValueError("an unencrypted connection is only allowed to a server on localhost")
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return IMAPS_PORT if self.security == "tls" else IMAP_PORT


SPEC = IntegrationSpec(
    slug="imap_alerts",
    # IMAP is not HTTP: the policy layer cannot add the password, so the connector gets it.
    secrets_in_config=True,
    title="Job alert emails (IMAP)",
    description=(
        "Turns the job alerts, buyer briefs and project digests that Fiverr, Guru, "
        "PeoplePerHour, Toptal and Kwork email to you into listings, by reading one folder "
        "of your mailbox over IMAP."
    ),
    capabilities=frozenset({Capability.job_feed}),
    auth_modes=(AuthMode.basic,),
    # Not an HTTP API: the server comes from the config. `.invalid` can never resolve.
    base_url="imaps://imap.invalid",
    docs_url="https://www.rfc-editor.org/rfc/rfc3501",
    pagination=Pagination.cursor,
    test_call="LOGIN (AUTHENTICATE PLAIN where offered), then EXAMINE the folder: its size",
    terms=TermsOfUse(
        url="https://help-pro.fiverr.com/hc/en-us/articles/28511727353873",
        summary=(
            "The platforms send these alerts to the user on purpose, as their channel for "
            "telling freelancers about work (Fiverr states that matched briefs arrive by "
            "email). Gigforge reads them in the user's own mailbox with credentials the user "
            "gives, never signs in to the platforms and never fetches their pages; replying "
            "happens on the platform, through the job link the alert carries."
        ),
        allows=(
            "Reading the alert emails in the folder the user chose",
            "Marking those alerts read, when the user turns that on",
        ),
        forbids=(
            "Deleting, moving or changing any other mail",
            "Signing in to or scraping the platforms' websites",
            "Following the platforms' tracking links on the user's behalf",
        ),
    ),
    config_model=IMAPAlertsConfig,
)
