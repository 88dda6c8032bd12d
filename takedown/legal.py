"""The vocabulary of deletion requests' legal fields: jurisdiction codes and the keys of ``Notice.legal``.

A base module, not part of a stage: the report stage's jurisdiction registry (``takedown.report.jurisdictions``,
which re-exports these names) says which keys each legal basis requires, and the site adapters that fill in web
report forms map form fields to the same keys.

Field keys (templates fill them, approval checks them):

=============================  =====================================================================================
``urls``                       the exact locations of the material (space-separated)
``material_type``              what the material is (illegally filmed / edited-synthesised / child sexual exploitation)
``requester``                  the requesting body (the agency)
``requester_registration``     the requesting body's designation or registration number (KR)
``contact_email``              where the recipient can reach the requester
``contact_phone``              a telephone number for the requester (KR)
``spread_description``         how the material is spreading (KR)
``signature``                  a physical or electronic signature (US, OTHER)
``good_faith_statement``       the good-faith statement the statute asks for (US, EU, OTHER)
``accuracy_statement``         the statement that the notice is accurate and complete (EU, OTHER)
``identification``             identification of the material, sufficient to find it (US, UK, AU, OTHER)
``reason``                     why the material is illegal (UK, JP; the EU's "substantiated explanation")
``right_infringed``            the right the material infringes (JP)
``sender_name``                the name of the person or entity sending the notice (EU)
``depicted_person_authority``  that the signer is the depicted person or authorised to act for them (US)
=============================  =====================================================================================
"""

from __future__ import annotations

from typing import Literal

__all__ = ["FIELD_KEYS", "JurisdictionCode"]

JurisdictionCode = Literal["KR", "US", "EU", "UK", "AU", "JP", "OTHER"]
"""The short code of a legal basis (``OTHER``: everywhere else, on a DMCA-like template)."""

FIELD_KEYS: tuple[str, ...] = (
    "urls",
    "material_type",
    "requester",
    "requester_registration",
    "contact_email",
    "contact_phone",
    "spread_description",
    "signature",
    "good_faith_statement",
    "accuracy_statement",
    "identification",
    "reason",
    "right_infringed",
    "sender_name",
    "depicted_person_authority",
)
"""Every key a jurisdiction may require in ``Notice.legal``."""
