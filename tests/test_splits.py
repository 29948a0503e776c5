"""Split protocols (PROTOCOL.md A.3-A.5, B) on the hand-made `tiny` log from conftest.py.

Expected parts are worked out by hand from the table in conftest.py's docstring.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY_ITEMS, TINY_ROWS, TINY_USERS, make_interactions

from prismrec.data.schema import IdMap, Interactions
from prismrec.data.splits import holdout, n_holdout, split
from prismrec.errors import ConfigError, DataError


def pairs(part: Interactions) -> set[tuple[str, str]]:
    users = part.user_ids.to_external(part.users)
    items = part.item_ids.to_external(part.items)
    return set(zip(users, items, strict=True))


def test_n_holdout_matches_protocol_formula() -> None:
    counts = np.arange(1, 51)
    expected = [max(1, (2 * n + 5) // 10) for n in range(1, 51)]
    np.testing.assert_array_equal(n_holdout(counts), expected)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, 1),  # (2 + 5) // 10 = 0 -> max(1, 0)
        (2, 1),  # 9 // 10 = 0 -> 1
        (7, 1),  # 19 // 10 = 1  (0.2 * 7 = 1.4)
        (8, 2),  # 21 // 10 = 2  (0.2 * 8 = 1.6)
        (12, 2),  # 29 // 10 = 2 (2.4 rounds down)
        (13, 3),  # 31 // 10 = 3 (2.6 rounds up)
        (50, 10),  # 105 // 10 = 10
    ],
)
def test_n_holdout_literals(n: int, expected: int) -> None:
    assert int(n_holdout(np.array([n]))[0]) == expected


def test_temporal_split_breaks_ties_by_line_order(tiny: Interactions) -> None:
    parts = split(tiny, "temporal")
    # u1 (8 events, 2 held out) sorted by (t, row): r6 r0 r1 r3 | r4 r11 r13 (t=30) | r12 (t=40):
    #   test = r12 (i7) and r13 (i8, the last line of the t=30 tie); r4 and r11 stay in train.
    # u2 (4 -> 1): last by (t, row) is r15 (i3, t=3).  u3 (3 -> 1): all t=7 -> the last line r10 (i5).
    # u4 (1 -> 1): r14 (i6).
    assert pairs(parts.test) == {("u1", "i7"), ("u1", "i8"), ("u2", "i3"), ("u3", "i5"), ("u4", "i6")}
    # validation on train: u1 has 6 events -> 1: of the t=30 tie (r4, r11) the later line r11 (i6);
    # u2 (3 -> 1): r5 and r7 tie at t=2 -> r7 (i6); u3 (2 -> 1): r8, r9 tie -> r9 (i4); u4: no train.
    assert pairs(parts.valid) == {("u1", "i6"), ("u2", "i6"), ("u3", "i4")}
    assert pairs(parts.subtrain) == {
        ("u1", "i1"), ("u1", "i2"), ("u1", "i3"), ("u1", "i4"), ("u1", "i5"),
        ("u2", "i1"), ("u2", "i2"), ("u3", "i3"),
    }  # fmt: skip
    assert len(parts.train) == 11 and len(parts.test) == 5  # 16 = 11 + 5
    assert len(parts.subtrain) == 8 and len(parts.valid) == 3  # 11 = 8 + 3


def test_tie_order_follows_the_file_not_the_item_id() -> None:
    # Same events as tiny but u1's t=30 lines r4 (i4) and r13 (i8) swapped: now i4 is the last line of the tie.
    rows = list(TINY_ROWS)
    rows[4], rows[13] = rows[13], rows[4]
    parts = split(make_interactions(rows, TINY_USERS, TINY_ITEMS), "temporal")
    held_u1 = {item for user, item in pairs(parts.test) if user == "u1"}
    assert held_u1 == {"i7", "i4"}


def test_parts_keep_line_order_and_share_id_maps(tiny: Interactions) -> None:
    parts = split(tiny, "temporal")
    for part in (parts.train, parts.test, parts.subtrain, parts.valid):
        assert part.user_ids is tiny.user_ids and part.item_ids is tiny.item_ids
    # test rows in file order: r10 (u3 i5), r12 (u1 i7), r13 (u1 i8), r14 (u4 i6), r15 (u2 i3)
    np.testing.assert_array_equal(parts.test.users, [2, 0, 0, 3, 1])
    np.testing.assert_array_equal(parts.test.items, [4, 6, 7, 5, 2])
    np.testing.assert_array_equal(parts.test.timestamps, [7.0, 40.0, 30.0, 100.0, 3.0])
    np.testing.assert_array_equal(parts.test.values, [1.0, 3.0, 5.0, 2.0, 4.0])


def test_random_split_follows_the_seeded_keys(tiny: Interactions) -> None:
    parts = split(tiny, "random", seed=42)
    # The rule, recomputed here: one key per line from default_rng(42); each user's largest
    # n_holdout keys are held out (u1: 2, others: 1).
    keys = np.random.default_rng(42).random(len(tiny))
    expected = set()
    for user, n_test in zip(TINY_USERS, (2, 1, 1, 1), strict=True):
        rows = [r for r, row in enumerate(TINY_ROWS) if row[0] == user]
        top = sorted(rows, key=lambda r: keys[r])[-n_test:]
        expected |= {(user, TINY_ROWS[r][1]) for r in top}
    assert pairs(parts.test) == expected
    assert len(parts.test) == 5


def test_random_split_is_reproducible_and_depends_on_the_seed(tiny: Interactions) -> None:
    first, again = split(tiny, "random", seed=42), split(tiny, "random", seed=42)
    assert pairs(first.test) == pairs(again.test)
    assert pairs(first.valid) == pairs(again.valid)
    other = split(tiny, "random", seed=7)
    assert pairs(other.test) != pairs(first.test)
    assert len(other.test) == len(first.test) == 5  # same sizes, different events


def test_random_split_does_not_need_timestamps() -> None:
    inter = make_interactions(TINY_ROWS, TINY_USERS, TINY_ITEMS, with_time=False)
    assert len(split(inter, "random").test) == 5


def test_leave_one_out_holds_the_latest_event_of_each_user_with_two(tiny: Interactions) -> None:
    parts = split(tiny, "leave-one-out")
    # latest per user: u1 r12 (i7, t=40), u2 r15 (i3), u3 r10 (i5, last line of the t=7 tie); u4 has one
    # event (r14), which stays in train (PROTOCOL.md E: n_out = 1 only when n >= 2)
    assert pairs(parts.test) == {("u1", "i7"), ("u2", "i3"), ("u3", "i5")}
    assert ("u4", "i6") in pairs(parts.train)
    # the same rule on train: u1's t=30 tie r4, r11, r13 -> r13 (i8); u2 r7 (i6); u3 r9 (i4)
    assert pairs(parts.valid) == {("u1", "i8"), ("u2", "i6"), ("u3", "i4")}
    old = split(tiny, "leave-last-out")  # the old name is an alias
    assert old.protocol == "leave-one-out" and pairs(old.test) == pairs(parts.test)


@pytest.mark.parametrize("protocol", ["temporal", "random", "leave-one-out"])
def test_validation_applies_the_same_rule_to_train(tiny: Interactions, protocol: str) -> None:
    parts = split(tiny, protocol)
    inner = holdout(parts.train, protocol)
    assert pairs(parts.valid) == pairs(parts.train.select(inner))
    assert pairs(parts.subtrain) == pairs(parts.train.select(~inner))
    assert pairs(parts.train) | pairs(parts.test) == pairs(tiny)
    assert not pairs(parts.train) & pairs(parts.test)


@pytest.mark.parametrize("protocol", ["temporal", "leave-one-out"])
def test_time_protocols_need_timestamps(protocol: str) -> None:
    inter = make_interactions(TINY_ROWS, TINY_USERS, TINY_ITEMS, with_time=False)
    with pytest.raises(DataError, match="no timestamps"):
        split(inter, protocol)


def test_unknown_protocol_and_stage(tiny: Interactions) -> None:
    with pytest.raises(ConfigError, match="temporal, random, leave-one-out, cold-items"):
        split(tiny, "chronological")
    with pytest.raises(ConfigError, match="'valid' or 'test'"):
        split(tiny, "temporal").stage("train")


def test_catalog_masks_are_items_with_events(tiny: Interactions) -> None:
    parts = split(tiny, "temporal")
    assert parts.catalog("test").all() and parts.catalog("valid").all()  # every item of tiny has an event


def test_temporal_split_when_every_user_has_one_event() -> None:
    rows = [("u1", "i1", 1.0, 5.0), ("u2", "i2", 1.0, 6.0)]
    parts = split(make_interactions(rows, ("u1", "u2"), ("i1", "i2")), "temporal")
    # PROTOCOL.md A.3: n_test(1) = 1, so both events are test; the reference gives an empty train and valid
    assert len(parts.test) == 2 and len(parts.train) == 0 and len(parts.valid) == 0


def test_a_dataset_without_interactions_cannot_be_split() -> None:
    empty = Interactions.from_arrays(np.zeros(0), np.zeros(0), IdMap([]), IdMap(["a"]))
    with pytest.raises(DataError, match="no interactions"):
        split(empty, "random")
