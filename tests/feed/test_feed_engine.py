"""The ranking engine on its own: what a viewer would notice in the order of clips."""

from __future__ import annotations

from collections import Counter

import pytest

from app.feed.engine import FeedConfig, FeedEngine, Reason
from app.feed.events import EventType

INTERESTS = ["beauty.skincare", "tech.phones", "food.baking", "fitness.yoga", "pets.dogs"]
DAY = 86400.0


def build(config: FeedConfig | None = None, per_interest: int = 40, creators: int = 25) -> FeedEngine:
    """200 clips over 5 interests and 25 creators, with some background engagement."""
    engine = FeedEngine(config or FeedConfig(explore_share=0.0), seed=1)
    n = 0
    for interest in INTERESTS:
        for k in range(per_interest):
            engine.upsert_clip(
                f"{interest}-{k}", creator=f"creator-{n % creators}", interests=[interest], created_at=0.0
            )
            n += 1
    # background viewers watch everything a little so no clip is "fresh"
    for b in range(40):
        for key in list(engine.clip_index)[b % 7 :: 7]:
            engine.apply(f"bg-{b}", EventType.impression, key, 10.0)
            engine.apply(f"bg-{b}", EventType.complete, key, 10.0)
    return engine


def interests_of(engine: FeedEngine, ranked: list) -> Counter[str]:
    return Counter(str(engine.clip_keys[r.clip]).rsplit("-", 1)[0] for r in ranked)


def test_cold_start_viewer_gets_a_full_varied_feed() -> None:
    engine = build()
    ranked = engine.rank("new-viewer", 20)
    assert len(ranked) == 20
    assert len({r.clip for r in ranked}) == 20
    # no interests and no history: the mix spreads over the taxonomy instead of one topic
    assert len(interests_of(engine, ranked)) >= 4


def test_onboarding_interests_steer_cold_start() -> None:
    engine = build()
    engine.set_explicit_interests("v", {"food.baking": 1.0})
    mix = interests_of(engine, engine.rank("v", 20))
    assert mix.most_common(1)[0][0] == "food.baking"
    assert mix["food.baking"] >= 8


def test_liking_skincare_shifts_the_next_session_towards_skincare() -> None:
    engine = build()
    before = interests_of(engine, engine.rank("v", 20))["beauty.skincare"]
    w0 = engine.effective_weights(engine.viewer("v")).copy()
    for k in range(6):
        key = f"beauty.skincare-{k}"
        engine.apply("v", EventType.impression, key, 100.0 + k)
        engine.apply("v", EventType.complete, key, 100.0 + k)
        engine.apply("v", EventType.like, key, 100.0 + k)
    w1 = engine.effective_weights(engine.viewer("v"))
    col = engine.interest_index["beauty.skincare"]
    assert w1[col] > w0[col] and w1.argmax() == col
    after = interests_of(engine, engine.rank("v", 20))["beauty.skincare"]
    assert after >= before + 4


def test_skips_pull_an_interest_down() -> None:
    engine = build()
    for k in range(5):
        engine.apply("v", EventType.like, f"tech.phones-{k}", 1.0)
    col = engine.interest_index["tech.phones"]
    high = engine.viewer("v").weights[col]
    for k in range(5, 15):
        engine.apply("v", EventType.skip, f"tech.phones-{k}", 2.0)
    assert engine.viewer("v").weights[col] < high


def test_no_creator_twice_within_spacing() -> None:
    spacing = 4
    engine = build(FeedConfig(creator_spacing=spacing, explore_share=0.0), creators=8)
    ranked = engine.rank("v", 60)
    creators = [int(engine.clip_creator[r.clip]) for r in ranked]
    for i in range(len(creators)):
        assert creators[i] not in creators[max(0, i - spacing) : i], (i, creators)


def test_exploration_share_gives_slots_to_fresh_clips() -> None:
    engine = build(FeedConfig(explore_share=0.2, explore_first_slot=0, explore_max_impressions=3))
    for k in range(30):  # brand-new clips nobody has seen
        engine.upsert_clip(f"new-{k}", creator=f"newbie-{k}", interests=["pets.dogs"], created_at=50.0)
    ranked = engine.rank("v", 40)
    explored = [r for r in ranked if r.reason is Reason.EXPLORE]
    assert len(explored) == pytest.approx(0.2 * 40, abs=1)
    assert all(str(engine.clip_keys[r.clip]).startswith("new-") for r in explored)
    none = build(FeedConfig(explore_share=0.0))
    assert not [r for r in none.rank("v", 40) if r.reason is Reason.EXPLORE]


def test_seen_clips_are_never_served_again() -> None:
    engine = build()
    first = engine.rank("v", 20)
    for r in first:  # an impression is enough: the viewer saw it, even without watching
        engine.apply("v", EventType.impression, engine.clip_keys[r.clip], 200.0)
    second = engine.rank("v", 20)
    assert not {r.clip for r in first} & {r.clip for r in second}


def test_one_viewers_ranking_leaves_nothing_behind_for_the_next() -> None:
    """A rank marks the clips its viewer saw and scores its viewer's co-engagement neighbours in
    work arrays shared by every rank: the next viewer's list is the one it would get alone."""

    def history(eng: FeedEngine) -> None:
        # background viewers watch every 7th clip, so these two viewers' neighbours differ:
        # clips 0 and 7 (skincare) against clips 85 and 92 (baking)
        for viewer, keys in (
            ("fan", ["beauty.skincare-0", "beauty.skincare-7"]),
            ("baker", ["food.baking-5", "food.baking-12"]),
        ):
            for t, key in enumerate(keys):
                for kind in (EventType.impression, EventType.complete, EventType.like):
                    eng.apply(viewer, kind, key, 100.0 + t)
        eng.apply("fan", EventType.impression, "tech.phones-3", 120.0)

    def ranking(eng: FeedEngine, viewer: str) -> list[tuple[int, float, Reason, int]]:
        return [(r.clip, r.score, r.reason, r.reason_arg) for r in eng.rank(viewer, 60)]

    engine, alone = build(), build()
    history(engine)
    history(alone)
    fan = engine.rank("fan", 20)
    assert any(r.reason is Reason.SIMILAR for r in fan)
    assert all(engine.clip_keys[r.clip] != "tech.phones-3" for r in fan)
    assert ranking(engine, "baker") == ranking(alone, "baker")  # no affinity left over from the fan
    assert ranking(engine, "newcomer") == ranking(alone, "newcomer")
    assert "tech.phones-3" in [engine.clip_keys[r.clip] for r in engine.rank("newcomer-2", 200)]
    # a rank that fails after the affinity leaves the work arrays clean too
    trend = engine.trend
    engine.trend = trend[:0]
    with pytest.raises(IndexError):
        engine.rank("fan", 20)
    engine.trend = trend
    assert not engine._scratch_mask.any() and not engine._scratch_slot.any()
    assert not engine._scratch_chosen.any()
    assert ranking(engine, "baker") == ranking(alone, "baker")
    # the compiled affinity loop does not check bounds: weights out of step with the matrix are
    # refused before it runs
    scaled = engine._co_scaled
    engine._co_scaled = scaled[:1]
    with pytest.raises(RuntimeError):
        engine.rank("fan", 20)
    engine._co_scaled = scaled
    assert ranking(engine, "fan") == ranking(alone, "fan")


def test_out_of_stock_clips_are_demoted() -> None:
    engine = build()
    top = engine.rank("v", 5)
    key = engine.clip_keys[top[0].clip]
    engine.set_stock(key, False)
    again = engine.rank("v", 20)
    assert top[0].clip not in [r.clip for r in again]
    engine.set_stock(key, True)
    assert engine.rank("v", 5)[0].clip == top[0].clip


def test_product_heavy_clips_are_not_stacked() -> None:
    engine = FeedEngine(FeedConfig(explore_share=0.0, product_heavy_run_cap=2, creator_spacing=0))
    for k in range(30):
        engine.upsert_clip(f"shop-{k}", creator="c", interests=["tech.phones"], n_tags=3)
        engine.upsert_clip(f"plain-{k}", creator="c", interests=["tech.phones"], n_tags=0)
    for k in range(30):  # shop clips are far more popular
        for b in range(5):
            engine.apply(f"bg{b}", EventType.like, f"shop-{k}", 1.0)
    heavy = [str(engine.clip_keys[r.clip]).startswith("shop-") for r in engine.rank("v", 30)]
    runs = (
        max(len(run) for run in "".join("H" if h else "." for h in heavy).split(".") if run)
        if any(heavy)
        else 0
    )
    assert runs <= 2


def test_co_engagement_neighbours_follow_what_others_liked_next() -> None:
    engine = build()
    for b in range(10):  # viewers who liked baking-1 also liked yoga-3
        engine.apply(f"pair-{b}", EventType.like, "food.baking-1", 300.0)
        engine.apply(f"pair-{b}", EventType.like, "fitness.yoga-3", 301.0)
    engine.apply("v", EventType.like, "food.baking-1", 400.0)
    ranked = engine.rank("v", 5)
    # yoga is not among the viewer's interests, yet the neighbour makes the first page, explained
    hit = [r for r in ranked if engine.clip_keys[r.clip] == "fitness.yoga-3"]
    assert hit and hit[0].reason is Reason.SIMILAR


def test_followed_creators_come_first_with_reason() -> None:
    engine = build()
    engine.apply("v", EventType.follow, None, 1.0, creator="creator-7")
    ranked = engine.rank("v", 10)
    followed = [r for r in ranked if r.reason is Reason.FOLLOW]
    assert followed and engine.creator_keys[followed[0].reason_arg] == "creator-7"


def test_a_like_counts_once_per_viewer() -> None:
    engine = build()
    idx = engine.clip_index["pets.dogs-1"]
    before = engine.counters["likes"][idx]
    for t in (1.0, 2.0):
        engine.apply("v", EventType.like, "pets.dogs-1", t)
    engine.apply("w", EventType.like, "pets.dogs-1", 3.0)
    assert engine.counters["likes"][idx] == before + 2
    engine.apply("v", EventType.unlike, "pets.dogs-1", 4.0)
    engine.apply("v", EventType.unlike, "pets.dogs-1", 5.0)
    assert engine.counters["likes"][idx] == before + 1


def test_interest_weights_decay_with_their_half_life() -> None:
    config = FeedConfig(explore_share=0.0, interest_half_life_s=10 * DAY)
    engine = build(config)
    cols = [engine.interest_index[i] for i in INTERESTS[:2]]
    engine.apply("v", EventType.like, f"{INTERESTS[0]}-0", 100 * DAY)
    # the same signal one half-life later: the older one now counts half as much
    engine.apply_many([("v", EventType.like, f"{INTERESTS[1]}-0", 110 * DAY, 0.0, None)])
    w = engine.current_weights(engine.viewer("v"))
    assert w[cols[1]] == pytest.approx(2 * w[cols[0]])
    assert w[cols[1]] == pytest.approx(2.0)  # a like's full signal, as of the viewer's last event
    # years later the stored numbers are restated against a new reference, not left to overflow
    engine.apply("v", EventType.like, f"{INTERESTS[0]}-1", 5000 * DAY)
    v = engine.viewer("v")
    assert v.w_ref == 5000 * DAY
    assert engine.current_weights(v)[cols[0]] == pytest.approx(2.0)


def test_co_engagement_pairs_weigh_by_distance_in_the_viewers_sequence() -> None:
    engine = build()
    keys = [f"{INTERESTS[2]}-{k}" for k in (30, 31, 32)]
    for t, key in enumerate(keys):
        engine.apply("seq", EventType.complete, key, 500.0 + t)
    engine.compact()
    a, b, c = (engine.clip_index[k] for k in keys)
    assert engine.co[c, b] == pytest.approx(1.0)  # one step apart
    assert engine.co[c, a] == pytest.approx(1 / 2**0.5)  # two steps apart
    assert engine.co[a, c] == engine.co[c, a]


def test_a_slow_compaction_is_not_repeated_at_once() -> None:
    config = FeedConfig(
        explore_share=0.0, compact_interval_s=1.0, compact_max_share=0.05, compact_small_entries=0
    )
    engine = build(config)
    engine.compact()
    engine._compact_seconds = 1.0  # as if folding took a second: the next waits 20 s, not 1
    engine._compacted_at -= 5.0
    engine.apply("w", EventType.like, f"{INTERESTS[3]}-0", 600.0)
    engine.apply("w", EventType.like, f"{INTERESTS[3]}-1", 601.0)
    assert engine._pending
    engine.maybe_compact()
    assert engine._pending  # 5 s after a 1 s compaction: not yet
    engine._compacted_at -= 20.0
    engine.maybe_compact()
    assert not engine._pending
    assert engine.co[engine.clip_index[f"{INTERESTS[3]}-1"], engine.clip_index[f"{INTERESTS[3]}-0"]] == 1.0
