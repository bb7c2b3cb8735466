"""Fixed vocabularies of the demo company: segments, products, prices, features, names.

Everything here is data, not logic. Money is USD per month unless stated otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Billing(StrEnum):
    """How the demo company bills its customers."""

    #: Each size class's share on month-to-month contracts, the rest on annual terms
    #: (``SegmentSpec.monthly_share``): the default demo.
    MIXED = "mixed"
    #: Every customer month to month: open-ended lines, an end date only for a line that
    #: stopped (a churn, a seat or add-on change), no renewal dates at all.
    MONTHLY = "monthly"


class Segment(StrEnum):
    """The true size class of a simulated customer (the platform infers its own from ARR)."""

    SMB = "smb"
    MID = "mid"
    ENT = "ent"


@dataclass(frozen=True)
class SegmentSpec:
    """How accounts of one size class are drawn and how they behave."""

    share: float  # share of customer accounts
    employees_median: float
    employees_sigma: float
    seats_median: float  # initial platform seats (lognormal median)
    seats_sigma: float
    seats_max: int
    tier: str  # plan tier sold by default
    monthly_share: float  # share on month-to-month contracts (the rest is annual)
    auto_renew_share: float  # share of annual contracts that renew automatically
    health_mean: float  # mean of the account's long-run latent health
    slow_payer_share: float  # accounts whose procurement pays late whatever their health
    owners: tuple[int, ...]  # indexes into CSMS


SEGMENTS: dict[Segment, SegmentSpec] = {
    Segment.SMB: SegmentSpec(0.58, 45, 0.8, 7, 0.55, 60, "starter", 0.75, 0.9, -0.1, 0.04, (6, 7)),
    Segment.MID: SegmentSpec(
        0.30, 450, 0.6, 30, 0.5, 220, "growth", 0.25, 0.6, 0.1, 0.12, (3, 4, 5)
    ),
    Segment.ENT: SegmentSpec(
        0.12, 6000, 0.9, 95, 0.45, 600, "enterprise", 0.02, 0.3, 0.3, 0.3, (0, 1, 2)
    ),
}
SEGMENT_ORDER: tuple[Segment, ...] = (Segment.SMB, Segment.MID, Segment.ENT)

# Product catalogue. PLATFORM and ANALYTICS are priced per seat, the others are flat.
PLATFORM = "Platform"
ANALYTICS = "Analytics"
AUTOMATION = "Automation"
SUPPORT = "Premium Support"
PRODUCTS: tuple[str, ...] = (PLATFORM, ANALYTICS, AUTOMATION, SUPPORT)
ADDONS: tuple[str, ...] = (ANALYTICS, AUTOMATION, SUPPORT)

SEAT_PRICE: dict[str, dict[str, float]] = {  # product -> tier -> USD per seat per month
    PLATFORM: {"starter": 29.0, "growth": 49.0, "enterprise": 75.0},
    ANALYTICS: {"starter": 9.0, "growth": 15.0, "enterprise": 20.0},
}
FLAT_PRICE: dict[str, dict[str, float]] = {  # product -> tier -> USD per month
    AUTOMATION: {"starter": 149.0, "growth": 590.0, "enterprise": 1500.0},
}
SUPPORT_RATE = 0.15  # Premium Support costs this share of the Platform MRR
ADDON_ATTACH: dict[str, dict[Segment, float]] = {  # chance an add-on is in the first deal
    ANALYTICS: {Segment.SMB: 0.15, Segment.MID: 0.35, Segment.ENT: 0.55},
    AUTOMATION: {Segment.SMB: 0.08, Segment.MID: 0.25, Segment.ENT: 0.45},
    SUPPORT: {Segment.SMB: 0.0, Segment.MID: 0.08, Segment.ENT: 0.45},
}


@dataclass(frozen=True)
class Feature:
    """A product-usage event other than login."""

    event: str
    key: bool  # a 'key feature' whose adoption predicts retention
    base_rate: float  # chance a healthy active user uses it on an active day
    threshold: float  # latent health below which use falls away
    gate: str  # product the account must hold to use it
    mean_extra_count: float  # mean of count - 1 on a day it is used


LOGIN = "login"
FEATURES: tuple[Feature, ...] = (
    Feature("dashboard_viewed", False, 0.45, -1.6, PLATFORM, 2.0),
    Feature("comment_added", False, 0.18, -0.8, PLATFORM, 1.0),
    Feature("data_exported", False, 0.08, -1.2, PLATFORM, 0.3),
    Feature("integration_synced", True, 0.12, -0.4, PLATFORM, 3.0),
    Feature("alert_configured", False, 0.04, -0.2, PLATFORM, 0.2),
    Feature("report_created", True, 0.22, -0.6, ANALYTICS, 0.8),
    Feature("workflow_automated", True, 0.16, -0.3, AUTOMATION, 1.5),
)
EVENT_NAMES: tuple[str, ...] = (LOGIN, *(f.event for f in FEATURES))

INDUSTRIES: tuple[str, ...] = (
    "Software", "Financial Services", "Healthcare", "Retail", "Manufacturing",
    "Education", "Logistics", "Media", "Professional Services", "Real Estate",
    "Telecommunications", "Energy", "Hospitality", "Nonprofit", "Government",
)  # fmt: skip
INDUSTRY_WEIGHTS: tuple[float, ...] = (
    18, 12, 10, 9, 9, 6, 6, 5, 8, 4, 4, 3, 3, 2, 1,
)  # fmt: skip

COUNTRIES: tuple[tuple[str, str, float], ...] = (  # ISO alpha-2, region, weight
    ("US", "NA", 44), ("CA", "NA", 6), ("GB", "EMEA", 10), ("DE", "EMEA", 8),
    ("FR", "EMEA", 5), ("NL", "EMEA", 4), ("SE", "EMEA", 3), ("ES", "EMEA", 2),
    ("IT", "EMEA", 2), ("IE", "EMEA", 2), ("AU", "APAC", 4), ("JP", "APAC", 2),
    ("SG", "APAC", 2), ("IN", "APAC", 3), ("BR", "LATAM", 2), ("MX", "LATAM", 1),
)  # fmt: skip

CHANNELS: tuple[tuple[str, float], ...] = (
    ("inbound", 40),
    ("outbound", 25),
    ("partner", 15),
    ("self_serve", 15),
    ("event", 5),
)

CSMS: tuple[str, ...] = (  # the vendor's customer success managers (emails)
    "olivia.bennett@keepwell-demo.example",
    "marcus.reyes@keepwell-demo.example",
    "priya.natarajan@keepwell-demo.example",
    "daniel.okafor@keepwell-demo.example",
    "sofia.lindqvist@keepwell-demo.example",
    "ethan.caldwell@keepwell-demo.example",
    "hannah.mueller@keepwell-demo.example",
    "lucas.moreau@keepwell-demo.example",
)

NAME_HEADS: tuple[str, ...] = (
    "Acme", "Blue", "Bright", "Cedar", "Clear", "Copper", "Crest", "Delta", "Echo",
    "Fern", "Granite", "Harbor", "Iron", "Juniper", "Kite", "Lumen", "Maple", "Nimbus",
    "North", "Oak", "Orbit", "Pine", "Quartz", "Red", "River", "Sage", "Silver", "Solar",
    "Stone", "Summit", "Terra", "Tidal", "Union", "Vector", "Willow", "Zephyr",
)  # fmt: skip
NAME_TAILS: tuple[str, ...] = (
    "Analytics", "Bank", "Bio", "Capital", "Care", "Dynamics", "Foods", "Freight",
    "Goods", "Group", "Health", "Industries", "Insurance", "Labs", "Learning", "Logistics",
    "Media", "Networks", "Partners", "Pharma", "Retail", "Robotics", "Security",
    "Software", "Studios", "Systems", "Telecom", "Travel", "Ventures", "Works",
)  # fmt: skip
FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Alex", "Amara", "Ben", "Carla", "Chen", "Diego", "Elena", "Farah", "Felix",
    "Grace", "Hugo", "Ines", "Jamal", "Jin", "Kara", "Leo", "Lina", "Maya", "Mateo",
    "Nadia", "Noah", "Omar", "Paula", "Quinn", "Rosa", "Sam", "Sara", "Tariq", "Tess",
    "Uma", "Victor", "Wen", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Adams", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kim", "Larsen", "Martin", "Nakamura", "Novak", "Olsen", "Patel", "Quinn",
    "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Weber", "Xu", "Young", "Zhang",
)  # fmt: skip
SPONSOR_TITLES: tuple[str, ...] = (
    "VP Operations", "Chief Operating Officer", "VP Customer Experience", "Head of Analytics",
    "CFO", "VP Engineering", "Director of Operations",
)  # fmt: skip
CHAMPION_TITLES: tuple[str, ...] = (
    "Operations Manager", "Analytics Lead", "Team Lead", "Program Manager",
    "Revenue Operations Manager", "Senior Analyst",
)  # fmt: skip
USER_TITLES: tuple[str, ...] = (
    "Analyst", "Specialist", "Coordinator", "Associate", "Engineer", "Account Manager",
)  # fmt: skip
