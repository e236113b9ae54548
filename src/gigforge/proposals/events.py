"""The events the proposals domain publishes (see `kit.outbox`)."""

from __future__ import annotations

import uuid

from gigforge.kit.outbox import EventPayload, event_type

_IDS = {
    "proposal_id": "01939a2e-5f62-7045-8c76-33b5ea260ff4",
    "opportunity_id": "01939a2d-1b20-7c4e-9a51-0e2d1f6b8a77",
}


@event_type(
    "proposal.approved",
    summary="A proposal was approved (by the user, or by their auto-approve rule) and is due",
    example={**_IDS, "platform": "freelancer", "auto_approved": False},
)
class ProposalApproved(EventPayload):
    proposal_id: uuid.UUID
    opportunity_id: uuid.UUID
    platform: str
    auto_approved: bool


@event_type(
    "proposal.submitted",
    summary="A proposal reached the platform (through its API, or pasted by the user)",
    example={**_IDS, "platform": "freelancer", "via": "api", "external_id": "500000001"},
)
class ProposalSubmitted(EventPayload):
    proposal_id: uuid.UUID
    opportunity_id: uuid.UUID
    platform: str
    via: str
    external_id: str | None


@event_type(
    "proposal.handed_off",
    summary="A proposal waits for the user to paste it on a platform that has no proposal API",
    example={**_IDS, "platform": "upwork", "reason": "the platform offers no proposal API"},
)
class ProposalHandedOff(EventPayload):
    proposal_id: uuid.UUID
    opportunity_id: uuid.UUID
    platform: str
    reason: str


@event_type(
    "proposal.failed",
    summary="Submitting a proposal failed for good; the reason is shown to the user",
    example={**_IDS, "platform": "freelancer", "reason": "The project is closed for bidding"},
)
class ProposalFailed(EventPayload):
    proposal_id: uuid.UUID
    opportunity_id: uuid.UUID
    platform: str
    reason: str


@event_type(
    "proposal.withdrawn",
    summary="The user withdrew a proposal before it was sent",
    example={**_IDS, "platform": "freelancer"},
)
class ProposalWithdrawn(EventPayload):
    proposal_id: uuid.UUID
    opportunity_id: uuid.UUID
    platform: str
