"""The decision policy: from a finding's detections to ``match``, ``review`` or ``clear``, with reasons."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from takedown.models import Decision, Detection, DetectionLabel

__all__ = ["DecisionPolicy", "PolicyConfig"]


class PolicyConfig(BaseModel):
    """When a finding is a match, needs an officer's review, or is clear."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    review_threshold: float = Field(default=0.5, ge=0, le=1, description="a score at or above this asks for review")


class DecisionPolicy:
    """Any ``match`` detection makes a match; a ``suspect``, an ``error`` or a high score asks for review.

    An error never clears a finding: what could not be judged goes to an officer.
    """

    def __init__(self, config: PolicyConfig | None = None) -> None:
        self.config = config or PolicyConfig()

    def decide(self, detections: Sequence[Detection]) -> tuple[Decision, tuple[str, ...]]:
        """The decision and the reasons for it."""
        matches = [d for d in detections if d.label is DetectionLabel.MATCH]
        if matches:
            return Decision.MATCH, tuple(f"{d.detector}: {d.rationale}" for d in matches)
        review = [
            d for d in detections
            if d.label in (DetectionLabel.SUSPECT, DetectionLabel.ERROR) or d.score >= self.config.review_threshold
        ]
        if review:
            return Decision.REVIEW, tuple(f"{d.detector} ({d.label.value}): {d.rationale}" for d in review)
        if not detections:
            return Decision.CLEAR, ("no media or text to judge",)
        return Decision.CLEAR, (f"{len(detections)} detection(s), none above the review threshold",)
