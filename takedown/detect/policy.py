"""The decision policy: from a finding's detections to ``match``, ``review`` or ``clear``, with the reasons.

A policy is an ordered list of :class:`~takedown.models.PolicyRule`. It decides each *item* of a finding (each media
item, and the page's text) on its own: the first rule, in list order, that any of the item's detections meets
gives the item its decision. The finding then takes the strongest of its items' decisions (``match`` over
``review`` over ``clear``). Deciding per item matters: a known false positive (a negative-bank hit) clears the
image it was found on, never the victim's video beside it on the same page.

A case's own rules (``Case.policy``) are tried before the policy's rules, so one case can be stricter or looser
than the agency's defaults. The defaults, in order:

1. a detection that a negative hash bank decided (``details["bank_kind"] == "negative"``) clears its item;
2. any ``match`` makes a match;
3. a ``suspect`` or an ``error`` asks for an officer's review (what could not be judged is never cleared);
4. a score at or above ``review_threshold`` asks for review.

An item that no rule decides is clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field, model_validator

from takedown.models import Case, Decision, Detection, DetectionLabel, PolicyRule

__all__ = ["DecisionPolicy", "PolicyConfig", "default_rules", "rule_holds"]

_STRENGTH = {Decision.CLEAR: 0, Decision.REVIEW: 1, Decision.MATCH: 2}


def default_rules(review_threshold: float = 0.5) -> tuple[PolicyRule, ...]:
    """The default rules (see the module docstring), with the score threshold for review."""
    return (
        PolicyRule(decision=Decision.CLEAR, details={"bank_kind": "negative"},
                   reason="a known false positive (negative hash bank)"),
        PolicyRule(decision=Decision.MATCH, labels=frozenset({DetectionLabel.MATCH}), reason="a match"),
        PolicyRule(decision=Decision.REVIEW, labels=frozenset({DetectionLabel.SUSPECT, DetectionLabel.ERROR}),
                   reason="needs an officer's review"),
        PolicyRule(decision=Decision.REVIEW, min_score=review_threshold,
                   reason=f"a score of at least {review_threshold:g}"),
    )


class PolicyConfig(BaseModel):
    """The rules a policy tries, in order, after a case's own.

    Leave ``rules`` empty for the defaults (:func:`default_rules` with ``review_threshold``); give rules to replace
    them entirely.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    review_threshold: float = Field(default=0.5, ge=0, le=1, description="a score at or above this asks for review")
    rules: tuple[PolicyRule, ...] = Field(default=(), description="empty: the default rules")

    @model_validator(mode="after")
    def _fill_defaults(self) -> PolicyConfig:
        if not self.rules:
            object.__setattr__(self, "rules", default_rules(self.review_threshold))
        return self


def rule_holds(rule: PolicyRule, detection: Detection) -> bool:
    """Whether ``detection`` meets every condition of ``rule``."""
    if not fnmatchcase(detection.detector, rule.detector):
        return False
    if rule.labels and detection.label not in rule.labels:
        return False
    if rule.kinds and detection.kind not in rule.kinds:
        return False
    if detection.score < rule.min_score:
        return False
    if rule.bank is not None and (detection.matched is None or not fnmatchcase(detection.matched.bank, rule.bank)):
        return False
    return all(
        key in detection.details and fnmatchcase(detection.details[key], pattern)
        for key, pattern in rule.details.items()
    )


def _describe(rule: PolicyRule) -> str:
    if rule.reason:
        return rule.reason
    parts = [f"detector {rule.detector}"] if rule.detector != "*" else []
    if rule.labels:
        parts.append("label " + "/".join(sorted(label.value for label in rule.labels)))
    if rule.kinds:
        parts.append("kind " + "/".join(sorted(kind.value for kind in rule.kinds)))
    if rule.min_score:
        parts.append(f"score >= {rule.min_score:g}")
    if rule.bank is not None:
        parts.append(f"bank {rule.bank}")
    parts += [f"{key}={pattern}" for key, pattern in sorted(rule.details.items())]
    return f"rule ({', '.join(parts) or 'any detection'})"


class DecisionPolicy:
    """Decides findings by ordered rules, item by item (see the module docstring).

    Args:
        config: the rules and the review threshold; the defaults when omitted.
    """

    def __init__(self, config: PolicyConfig | None = None) -> None:
        self.config = config or PolicyConfig()

    def rules_for(self, case: Case | None) -> tuple[PolicyRule, ...]:
        """The rules tried for ``case``: its own first, then the policy's."""
        return (*(case.policy if case is not None else ()), *self.config.rules)

    def decide(
        self, detections: Sequence[Detection], *, case: Case | None = None
    ) -> tuple[Decision, tuple[str, ...]]:
        """The finding's decision and the reasons for it.

        The reasons name, for each item that gave the decision, the rule that decided it and the detections that
        met it (``"a match: pdq on 3fa1…: within 12 bits of ref-1"``).
        """
        if not detections:
            return Decision.CLEAR, ("no media or text to judge",)
        rules = self.rules_for(case)
        items: dict[str, list[Detection]] = {}
        for detection in detections:
            items.setdefault(detection.target, []).append(detection)
        decided: list[tuple[Decision, str, str]] = []  # (decision, target, reason)
        for target, found in items.items():
            for rule in rules:
                met = [d for d in found if rule_holds(rule, d)]
                if met:
                    what = "; ".join(f"{d.detector}: {d.rationale}" if d.rationale else d.detector for d in met)
                    decided.append((rule.decision, target, f"{_describe(rule)}: {what}"))
                    break
        if not decided:
            return Decision.CLEAR, (f"{len(detections)} detection(s) on {len(items)} item(s); no rule applies",)
        strongest = max((decision for decision, _, _ in decided), key=_STRENGTH.__getitem__)
        reasons = tuple(
            reason if target == "text" else f"{reason} [{target[:12]}]"
            for decision, target, reason in decided if decision is strongest
        )
        return strongest, reasons
