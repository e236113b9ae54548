"""What the sandbox language models answer: deterministic text that reads like the product.

The four LLM sandboxes (OpenAI, Anthropic, Gemini, Ollama) share this one writer, so the demo
and the tests see the same replies whichever provider is connected. A proposal brief (the lines
`ProposalService` sends: "Job title: ...", "Job skills: ...", "Freelancer: ...") gets a short
cover letter built from the brief's own facts; anything else gets a reply that restates the
request ("Re: hello"), which keeps masked personal data visible to tests. No randomness: the
same prompt always gets the same words, and a token is a whitespace-separated word, so tests
can predict text, usage and cost.

Gigforge's delivery agents (`gigforge.agents`) and their judges are answered too, by
`sandbox_agents`, so jobs can be demonstrated offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gigforge.integrations.framework.sandbox_agents import agent_reply

# The brief's "Key: value" lines; a value may not run past its line.
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]{1,40}):[ \t]*(.*?)\s*$", re.M)
_WORD = re.compile(r"\S+")
_NOT_STATED = "not stated"
_MAX_SKILLS = 4
# One word, like an email reply's subject, so a reply's length in tokens is easy to predict.
GENERIC_PREFIX = "Re:"


@dataclass(frozen=True)
class ProposalBrief:
    """The facts of a proposal brief a cover letter may use; nothing is invented beyond them."""

    title: str
    job_skills: tuple[str, ...] = ()
    freelancer: str = ""
    freelancer_skills: tuple[str, ...] = ()
    budget: str = ""
    client: str = ""

    @property
    def matching_skills(self) -> tuple[str, ...]:
        """The job's skills the freelancer has, in the job's order (the job's own if unknown)."""
        if not self.freelancer_skills:
            return self.job_skills
        mine = {skill.casefold() for skill in self.freelancer_skills}
        return tuple(skill for skill in self.job_skills if skill.casefold() in mine)


def parse_brief(prompt: str) -> ProposalBrief | None:
    """The brief in a prompt, or None when the prompt is not a proposal brief."""
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(prompt):
        fields.setdefault(key.strip().casefold(), value)
    title = fields.get("job title", "")
    if not title:
        return None
    freelancer, _, freelancer_skills = fields.get("freelancer", "").partition("; skills:")
    return ProposalBrief(
        title=title,
        job_skills=_list(fields.get("job skills", "")),
        freelancer=freelancer.strip(),
        freelancer_skills=_list(freelancer_skills),
        budget=fields.get("budget", ""),
        client=fields.get("client", ""),
    )


def sandbox_reply(prompt: str) -> str:
    """The whole reply a sandbox model gives to the last user message."""
    answer = agent_reply(prompt)
    if answer is not None:
        return answer
    brief = parse_brief(prompt)
    if brief is not None:
        return cover_letter(brief)
    return f"{GENERIC_PREFIX} {' '.join(prompt.split())}".rstrip()


def cover_letter(brief: ProposalBrief) -> str:
    """A short, specific proposal in the shape the system prompt asks for."""
    greeting = f"Hello {brief.client}," if brief.client else "Hello,"
    paragraphs = [
        greeting,
        f'Thank you for posting "{brief.title}". I have read the brief and would like to '
        "take it on.",
    ]
    skills = brief.matching_skills[:_MAX_SKILLS]
    if skills:
        paragraphs.append(
            f"The work calls for {_joined(skills)}, which I use in my day-to-day work, so I "
            "can start without a ramp-up period."
        )
    plan = (
        "As a first step I would confirm the scope and the first milestone with you, then "
        "share a working first version for your review early, so we can adjust course quickly."
    )
    if brief.budget:
        plan += f" The stated budget ({brief.budget}) works for that plan."
    paragraphs.append(plan)
    paragraphs.append("I am happy to answer any questions before we start.")
    paragraphs.append(f"Best regards,\n{brief.freelancer}" if brief.freelancer else "Best regards")
    return "\n\n".join(paragraphs)


def limit_words(text: str, limit: int | None) -> tuple[str, int, bool]:
    """The reply cut after `limit` words with its layout kept: (text, words, was it cut)."""
    words = list(_WORD.finditer(text))
    if limit is None or len(words) <= limit:
        return text, len(words), False
    if limit <= 0:
        return "", 0, True
    return text[: words[limit - 1].end()], limit, True


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _list(value: str) -> tuple[str, ...]:
    if value.strip().casefold() == _NOT_STATED:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _joined(items: tuple[str, ...]) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} and {items[-1]}"
