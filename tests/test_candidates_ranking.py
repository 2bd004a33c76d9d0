"""The ranking of candidates for a position: each member differs from the best in one factor."""

from dataclasses import replace
from datetime import date

from crc.candidates import MemberFacts, Opening, blocker, rank, rank_one

TODAY = date(2027, 1, 1)
OPENING = Opening(
    sector="rule_of_law",
    languages=("ar",),
    component="active",
    start_date=date(2027, 2, 15),
    end_date=date(2027, 4, 15),
    threat_level="high",
    clearance_required="secret",
)
BEST = MemberFacts(
    member_id=1,
    name="Best Fit",
    component="active",
    sectors=("rule_of_law",),
    languages=("ar", "fr"),
    language_levels={"ar": 3},
    clearance_level="secret",
    clearance_expires=date(2028, 1, 1),
    certificates={"FACT": date(2030, 1, 1), "CRC-ORIENT": None},
)
# One factor changed each; the id says which.
VARIANTS = [
    BEST,
    replace(BEST, member_id=2, language_levels={"ar": 2}),
    replace(BEST, member_id=3, last_deployment_end=date(2026, 12, 2)),
    replace(BEST, member_id=4, certificates={"CRC-ORIENT": None}),
    replace(BEST, member_id=5, clearance_level="confidential"),
    replace(BEST, member_id=6, component="standby"),
    replace(BEST, member_id=7, sectors=("security_sector",)),
    replace(BEST, member_id=8, retired_on=date(2026, 6, 30)),
    replace(BEST, member_id=9, busy="on leave 10 Feb 2027 to 20 Feb 2027"),
    replace(BEST, member_id=10, on_this_operation=True),
    replace(BEST, member_id=11, languages=("fr",), language_levels={}),
]


def test_the_exact_order_and_scores() -> None:
    ranked = rank(OPENING, reversed(VARIANTS), TODAY)
    assert [(c.member_id, c.score) for c in ranked] == [
        (1, 138),
        (2, 132),
        (4, 123),  # ties with 6: the lower id first
        (6, 123),
        (11, 120),
        (3, 119),
        (5, 118),
        (7, 98),
    ]


def test_the_best_has_every_reason_and_no_gap() -> None:
    best = rank_one(OPENING, BEST, TODAY)
    assert best.reasons == [
        "works in rule of law",
        "speaks ar at ILR 3",
        "clearance Secret meets the post's Secret",
        "FACT valid through 1 Jan 2030",
        "CRC-ORIENT never expires",
        "Active member; the position takes Active",
        "Active: deploys within 48 hours",
        "no deployment on record",
    ]
    assert best.gaps == []


def test_each_gap_is_said_in_words() -> None:
    gaps = {c.member_id: c.gaps for c in rank(OPENING, VARIANTS, TODAY)}
    assert {member_id: gaps[member_id] for member_id in (2, 3, 4, 5, 6, 7, 11)} == {
        2: [],
        3: [],
        4: ["needs FACT by 15 Feb 2027"],
        5: ["clearance Secret needed, holds Confidential"],
        6: ["Standby member; the position prefers Active"],
        7: ["no rule of law experience"],
        11: ["does not speak ar"],
    }
    rested = rank_one(OPENING, VARIANTS[2], TODAY)
    assert rested.reasons[-1] == "30 days since the last deployment"
    standby = rank_one(OPENING, VARIANTS[5], TODAY)
    assert standby.reasons[-2:] == [
        "Standby: 45 days' notice covers the 30 needed",
        "no deployment on record",
    ]


def test_hard_blocks_are_not_candidates() -> None:
    assert [blocker(OPENING, m, TODAY) for m in VARIANTS[7:10]] == [
        "retired on 30 Jun 2026",
        "on leave 10 Feb 2027 to 20 Feb 2027",
        "already on this operation",
    ]
    assert {8, 9, 10}.isdisjoint(c.member_id for c in rank(OPENING, VARIANTS, TODAY))


def test_fixable_gaps_at_short_notice_and_expiring_clearance() -> None:
    soon = replace(OPENING, start_date=date(2027, 1, 11), end_date=date(2027, 1, 20), threat_level="low")
    standby = replace(BEST, component="standby", clearance_expires=date(2027, 1, 15), certificates={})
    candidate = rank_one(soon, standby, TODAY)
    assert candidate.gaps == [
        "clearance expires 15 Jan 2027; it must last through 20 Jan 2027",
        "needs CRC-ORIENT by 11 Jan 2027",
        "Standby member; the position prefers Active",
        "Standby needs 30 days' notice; the start is in 10",
    ]
    # Sector 40 + ar at ILR 3 18 + rest 20: a low-threat stay of ten days needs no FACT.
    assert candidate.score == 78


def test_the_same_facts_rank_the_same_way() -> None:
    assert rank(OPENING, VARIANTS, TODAY) == rank(OPENING, list(reversed(VARIANTS)), TODAY)
