"""The compiled ranking loops against plain Python/numpy versions of the same rules, on random
inputs (the compiled code does not check bounds, so its contracts are pinned here)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp  # type: ignore[import-untyped]

from app.feed import kernels

SEEDS = range(12)


def reference_place(
    clips: list[int],
    creators: list[int],
    heavy: list[bool],
    explore: list[tuple[int, int, bool]],
    explore_slots: set[int],
    n: int,
    spacing: int,
    run_cap: int,
    lookahead: int,
) -> list[int]:
    """The slot-by-slot pass as the engine wrote it in Python (picks: place, or ~clip)."""
    queue = list(range(len(clips)))
    chosen: set[int] = set()
    out: list[int] = []
    recent: list[int] = []
    heavy_run = 0

    def allowed(creator: int, is_heavy: bool) -> bool:
        if spacing > 0 and creator in recent[-spacing:]:
            return False
        return not (is_heavy and heavy_run >= run_cap)

    while len(out) < n and (queue or explore):
        slot = len(out)
        if slot in explore_slots and explore:
            for j, (c, creator, is_heavy) in enumerate(explore[:lookahead]):
                if c not in chosen and allowed(creator, is_heavy):
                    del explore[j]
                    out.append(~c)
                    chosen.add(c)
                    recent.append(creator)
                    heavy_run = heavy_run + 1 if is_heavy else 0
                    break
            else:
                explore = []
            if len(out) > slot:
                continue
        if not queue:
            break
        i = queue[0]
        pick = 0
        if not allowed(creators[i], heavy[i]):
            for j, k in enumerate(queue):
                if allowed(creators[k], heavy[k]):
                    pick = j
                    break
        i = queue.pop(pick)
        if clips[i] in chosen:
            continue
        chosen.add(clips[i])
        out.append(i)
        recent.append(creators[i])
        heavy_run = heavy_run + 1 if heavy[i] else 0
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_place_slots_follows_the_rules_like_the_plain_version(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_clips, m, n = 300, int(rng.integers(5, 120)), int(rng.integers(1, 80))
    clips = rng.choice(n_clips, m, replace=False).astype(np.int64)
    creators = rng.integers(0, int(rng.integers(1, 12)), m).astype(np.int32)
    heavy = rng.random(m) < rng.random()
    n_ex = int(rng.integers(0, 40))
    ex_clips = rng.integers(0, n_clips, n_ex).astype(np.int64)  # may repeat, may overlap the list
    ex_creators = rng.integers(0, 12, n_ex).astype(np.int32)
    ex_heavy = rng.random(n_ex) < 0.3
    every, first = int(rng.integers(2, 11)), int(rng.integers(0, 5))
    explore_slot = np.zeros(n, bool)
    explore_slot[first + every - 1 :: every] = True
    spacing, run_cap, lookahead = int(rng.integers(0, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 30))
    chosen = np.zeros(n_clips, bool)

    got = kernels.place_slots(
        clips,
        creators,
        heavy,
        ex_clips,
        ex_creators,
        ex_heavy,
        explore_slot,
        n,
        spacing,
        run_cap,
        lookahead,
        chosen,
    )

    expected = reference_place(
        clips.tolist(),
        creators.tolist(),
        heavy.tolist(),
        list(zip(ex_clips.tolist(), ex_creators.tolist(), ex_heavy.tolist(), strict=True)),
        set(np.flatnonzero(explore_slot).tolist()),
        n,
        spacing,
        run_cap,
        lookahead,
    )
    assert got.tolist() == expected
    assert not chosen.any()  # the work array is left clear for the next rank


@pytest.mark.parametrize("seed", SEEDS)
def test_gather_affinity_sums_the_weighted_history_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, rows = 200, 150  # clips newer than the matrix (ids >= rows) have no row
    co = sp.random(rows, n, density=0.05, random_state=seed, format="csr", dtype=np.float32)
    history = rng.integers(0, n, int(rng.integers(0, 40))).astype(np.int64)
    strength = rng.random(history.size) + 0.5
    engaged = rng.random(n) * 10
    slot = np.zeros(n, np.int32)

    ids, scores = kernels.gather_affinity(
        history, strength, engaged, 8.0, 2.0, 0.5, rows, co.indptr, co.indices, co.data, slot
    )

    kept = history[history < rows]
    position = np.arange(kept.size)[::-1]  # 0 = most recent
    weights = 0.5 ** (position / 8.0) * strength[history < rows] * (engaged[kept] + 2.0) ** -0.5
    dense = np.zeros(n)
    for row, weight in zip(kept, weights, strict=True):
        dense += weight * co[int(row)].toarray()[0]
    touched = np.unique(co[kept].indices) if kept.size else np.zeros(0, np.int64)
    assert sorted(ids.tolist()) == touched.tolist() and len(set(ids.tolist())) == ids.size
    np.testing.assert_allclose(scores, dense[ids], rtol=1e-9)
    assert (slot[ids] == np.arange(1, ids.size + 1)).all()  # each clip's place, for the lookup
    slot[ids] = 0
    assert not slot.any()  # nothing else was written


@pytest.mark.parametrize("seed", SEEDS)
def test_mix_order_blends_relevance_with_fair_shares(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m, n_cols = int(rng.integers(1, 300)), 6
    cols = np.full((m, 4), -1, np.int32)
    for i in range(m):
        k = int(rng.integers(0, 5))
        cols[i, :k] = np.sort(rng.choice(n_cols, k, replace=False))
    weigh = np.append(rng.random(n_cols) * (rng.random(n_cols) < 0.7) + 1e-9, -1.0)
    share = np.append(rng.random(n_cols) + 0.01, 0.05)
    strength = float(rng.random())

    ranked, primary = kernels.mix_order(cols, weigh, share, strength)

    # the engine's numpy version
    expected_primary = np.take_along_axis(cols, np.take(weigh, cols).argmax(axis=1)[:, None], axis=1)[:, 0]
    places = np.arange(m)
    by_group = np.argsort(expected_primary, kind="stable")
    g_sorted = expected_primary[by_group]
    new_group = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    k = np.empty(m, np.int64)
    k[by_group] = places - np.maximum.accumulate(np.where(new_group, places, 0))
    fair = np.empty(m)
    fair[np.argsort((k + 0.5) / np.take(share, expected_primary), kind="stable")] = places
    expected = np.argsort((1 - strength) * places + strength * fair, kind="stable")
    assert primary.tolist() == expected_primary.tolist()
    assert ranked.tolist() == expected.tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_union_candidates_keeps_each_active_unseen_clip_once(seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts = rng.integers(0, 500, int(rng.integers(0, 2000))).astype(np.int64)
    active, blocked, mark = rng.random(500) < 0.9, rng.random(500) < 0.2, np.zeros(500, bool)
    got = kernels.union_candidates(parts, active, blocked, mark)
    expected = [c for c in dict.fromkeys(parts.tolist()) if active[c] and not blocked[c]]
    assert got.tolist() == expected
    assert not mark.any()


@pytest.mark.parametrize("seed", SEEDS)
def test_score_and_explore_pick_match_the_vectorised_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_cols, n_creators = 400, 8, 30
    int_cols = np.full((n, 4), -1, np.int32)
    int_vals = np.zeros((n, 4), np.float32)
    for c in range(n):
        k = int(rng.integers(0, 5))
        int_cols[c, :k] = rng.choice(n_cols, k, replace=False)
        int_vals[c, :k] = rng.random(k)
    w = rng.random(n_cols) * (rng.random() < 0.8)
    w_ext = np.append(w, 0.0)
    clip_creator = rng.integers(0, n_creators, n).astype(np.int32)
    in_stock = rng.random(n) < 0.8
    cand = rng.choice(n, int(rng.integers(1, 300)), replace=False).astype(np.int64)
    followed = rng.random(n_creators) < 0.2 if rng.random() < 0.5 else np.zeros(0, bool)
    neighbours = rng.choice(n, 60, replace=False)
    sim_slot = np.zeros(n, np.int32)
    sim_slot[neighbours] = np.arange(1, 61)
    sim_scores = np.append(0.0, rng.random(60)) if rng.random() < 0.7 else np.zeros(1)
    trending, popular, static = rng.random(cand.size), rng.random(cand.size), rng.random(cand.size) + 0.5
    weights = np.array([0.6, 1.0, 0.1 / max(w.max(), 1e-9) if w.any() else 0.0, 0.05, 0.03])

    score, contrib = kernels.score_candidates(
        cand, clip_creator, followed, sim_slot, sim_scores, int_cols, int_vals, w_ext,
        trending, popular, static, in_stock, weights, 0.05,
    )  # fmt: skip

    affinity = (int_vals[cand] * w_ext[int_cols[cand]]).sum(axis=1)
    sim = sim_scores[sim_slot[cand]] if sim_scores.size > 1 else np.zeros(cand.size)
    expected = np.zeros((5, cand.size))
    if followed.size:
        expected[0] = 0.6 * followed[clip_creator[cand]]
    if sim.max() > 0:
        expected[1] = sim * (1.0 / sim.max())
    expected[2] = affinity * weights[2]
    expected[3], expected[4] = trending * 0.05, popular * 0.03
    expected_score = (expected.sum(axis=0) + 1e-6) * static * np.where(in_stock[cand], 1.0, 0.05)
    np.testing.assert_allclose(contrib, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(score, expected_score, rtol=1e-12)

    fresh = rng.integers(0, n, 100).astype(np.int64)
    draw, blocked = rng.random(100), rng.random(n) < 0.3
    picked = kernels.explore_pick(
        fresh, draw, blocked, in_stock, int_cols, int_vals, w_ext, float(w.max()), 0.05, 16
    )
    keep = ~blocked[fresh]
    value = draw[keep] * np.where(in_stock[fresh[keep]], 1.0, 0.05)
    if w.any():
        value = value * (0.5 + (int_vals[fresh[keep]] * w_ext[int_cols[fresh[keep]]]).sum(axis=1) / w.max())
    assert picked.tolist() == fresh[keep][np.argsort(-value, kind="stable")[:16]].tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_pick_columns_explain_each_slot(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 50))
    cand = rng.choice(1000, m, replace=False).astype(np.int64)
    score = rng.random(m)
    contrib = rng.random((5, m)) * (rng.random((5, m)) < 0.4)
    column = rng.permutation(m).astype(np.int64)
    primary = rng.integers(-1, 5, m).astype(np.int32)
    creators = rng.integers(0, 20, m).astype(np.int32)
    pick = np.array(
        [int(p) if rng.random() < 0.8 else ~int(rng.integers(0, 1000)) for p in rng.permutation(m)]
    )
    weights = rng.random(5) * (rng.random(5) < 0.5)

    clips, scores, reasons, args = kernels.pick_columns(
        pick, cand, score, contrib, column, primary, creators, weights
    )

    for t, p in enumerate(pick.tolist()):
        if p < 0:
            assert (clips[t], scores[t], reasons[t], args[t]) == (~p, 0.0, 5, -1)
            continue
        signals = contrib[:4, column[p]]
        row = int(signals.argmax()) if signals.max() > 0 else 3
        assert (clips[t], scores[t]) == (cand[p], score[p])
        if row == 2:  # an interest is named only when the viewer has it
            named = primary[p] >= 0 and weights[primary[p]] > 0
            assert (reasons[t], args[t]) == (3, primary[p] if named else -1)
        else:
            assert (reasons[t], args[t]) == (row + 1, creators[p] if row == 0 else -1)
