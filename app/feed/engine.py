"""In-memory, numpy-vectorised ranking engine of the feed.

The same code serves ``GET /v1/feed`` and the offline evaluation (``bench/feed_eval.py``).

Everything is addressed by dense integer indices (clips, creators, interest columns) so that
scoring a few thousand candidates is a handful of array operations. External keys (clip UUIDs,
viewer ids, interest ids) are mapped to indices on the way in.

State held here is a *cache*: it is rebuilt from the database (clips, events, follows,
onboarding interests) by ``app.feed.state``; nothing in it is the source of truth.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp  # type: ignore[import-untyped]

from app.feed import kernels
from app.feed.events import EventType, signal_for

# (viewer, kind, clip, t, progress, creator): one event as ``FeedEngine.apply_many`` takes it
EngineEvent = tuple[Hashable, EventType, Hashable | None, float, float, Hashable | None]


@dataclass
class FeedConfig:
    # re-ranking
    creator_spacing: int = 3  # no creator twice within this many slots
    explore_share: float = 0.1  # share of slots given to bandit-explored fresh clips
    explore_first_slot: int = 3  # never explore before this slot (the first swipes must land)
    product_heavy_run_cap: int = 2  # max consecutive product-heavy clips
    product_heavy_tags: int = 2  # a clip with at least this many active tags is product-heavy
    mix_strength: float = 0.7  # 0 = pure relevance order, 1 = slots shared by the viewer's interest weights
    mix_floor: float = 0.5  # share of the mix spread evenly over all interests
    rerank_window_factor: int = 4  # candidates considered by the re-rank: factor x n ...
    rerank_window_min: int = 400  # ... and at least this many
    # learning
    interest_half_life_s: float = 30 * 86400.0
    trending_half_life_s: float = 2 * 86400.0
    freshness_half_life_s: float = 7 * 86400.0
    freshness_floor: float = 0.6
    co_window: int = 25  # co-engagement pairs formed with the viewer's last N engaged clips
    history_size: int = 300  # engaged clips kept per viewer
    history_half_life: float = 8.0  # recency weighting of the viewer's history, in positions
    sim_history: int = 32  # the last N engaged clips score co-engagement neighbours (N = 4 half-lives)
    sim_alpha: float = 0.5  # co-count / (n_i^alpha * n_j^(1-alpha))
    sim_shrink: float = 2.0
    compact_interval_s: float = 5.0  # co-engagement folding, when the matrix is large ...
    compact_max_share: float = 0.05  # ... and no more often than keeps it to this share of the time
    compact_small_entries: int = 500_000  # below this many entries, folding is cheap: at once
    compact_max_pending: int = 10_000_000  # pending entries folded whatever the pace (memory)
    pools_interval_s: float = 5.0  # viewer-independent pools are refreshed at most this often
    # candidate pools
    pool_size: int = 200  # clips per candidate pool (the viewer's interests, trending, popular, ...)
    interest_pools: int = 5  # pools of the viewer's top-N interests
    explore_max_impressions: int = 30  # a clip is "fresh" while it has fewer impressions
    # scoring: affinity = weighted sum of normalised signals
    w_interest: float = 0.1
    w_similar: float = 1.0
    w_follow: float = 0.6
    w_trending: float = 0.05
    w_popular: float = 0.03
    quality_power: float = 0.5
    out_of_stock_factor: float = 0.05
    # Bayesian priors of the quality rates: (prior mean, prior strength in impressions)
    prior_complete: tuple[float, float] = (0.3, 20.0)
    prior_like: tuple[float, float] = (0.05, 50.0)
    prior_share: tuple[float, float] = (0.01, 100.0)
    prior_tap: tuple[float, float] = (0.03, 50.0)
    prior_conversion: tuple[float, float] = (0.05, 20.0)  # purchases per tap


class Reason(IntEnum):
    FOLLOW = 1
    SIMILAR = 2
    INTEREST = 3
    TRENDING = 4
    EXPLORE = 5


@dataclass(slots=True)
class Ranked:
    clip: int  # clip index
    score: float
    reason: Reason
    reason_arg: int  # creator index (FOLLOW), interest column (INTEREST), clip index (SIMILAR)


@dataclass(slots=True)
class Affinity:
    """A viewer's co-engagement affinity: non-zero only for the clips ``ids``."""

    ids: np.ndarray  # distinct clips with an affinity
    scores: np.ndarray  # their affinity, in the order of ``ids``
    slot: np.ndarray  # clip -> 1 + its place in ``ids`` (0: no affinity), over the whole catalogue


@dataclass
class Viewer:
    # learned interest weights, one per interest column, decayed in time; stored in units of the
    # reference time ``w_ref``: the weights as of ``t_weights`` (the last signal) are
    # weights x 0.5 ** ((t_weights - w_ref) / half-life) (see ``FeedEngine.current_weights``)
    weights: list[float]
    explicit: dict[int, float] = field(default_factory=dict)  # onboarding picks: column -> weight
    t_weights: float = 0.0
    w_ref: float = 0.0
    seen: set[int] = field(default_factory=set)
    follows: set[int] = field(default_factory=set)
    history: list[int] = field(default_factory=list)  # engaged clips, oldest first
    strength: dict[int, float] = field(default_factory=dict)
    liked: set[int] = field(default_factory=set)
    blocks: set[int] = field(default_factory=set)  # creators the viewer blocked (never shown)
    version: int = 0  # bumped on every change; sessions built from an older version are stale

    def rebase(self, t: float, half_life: float) -> None:
        """Restate the stored weights in units of time ``t`` (keeps the stored numbers bounded)."""
        factor = 0.5 ** ((t - self.w_ref) / half_life)
        self.weights = [w * factor for w in self.weights]
        self.w_ref = t


def _grow(a: np.ndarray, n: int, fill: float = 0) -> np.ndarray:
    if n <= a.shape[0]:
        return a
    cap = max(n, 2 * a.shape[0], 64)
    out = np.full((cap, *a.shape[1:]), fill, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


COUNTERS = ("impressions", "views", "completes", "likes", "shares", "taps", "carts", "purchases")
# event kind -> the counter it bumps (likes are counted once per viewer, in apply_many)
_COUNTER_OF: dict[EventType, str] = {
    EventType.impression: "impressions",
    EventType.view_progress: "views",
    EventType.complete: "completes",
    EventType.replay: "completes",
    EventType.share: "shares",
    EventType.product_tap: "taps",
    EventType.add_to_cart: "carts",
    EventType.purchase: "purchases",
}


class FeedEngine:
    def __init__(self, config: FeedConfig | None = None, seed: int = 0) -> None:
        self.config = config or FeedConfig()
        self.lock = threading.RLock()
        self.rng = np.random.default_rng(seed)
        self._prng = random.Random(seed)  # single draws (numpy's per-call cost is in microseconds)
        self.n = 0
        self.clip_keys: list[Hashable] = []
        self.clip_index: dict[Hashable, int] = {}
        self.creator_keys: list[Hashable] = []
        self.creator_index: dict[Hashable, int] = {}
        self.creator_clips: dict[int, list[int]] = {}
        self.interest_keys: list[Hashable] = []
        self.interest_index: dict[Hashable, int] = {}
        self.clip_creator = np.zeros(0, np.int32)
        self.interests = np.zeros((0, 8), np.float32)  # row-normalised clip x interest matrix
        # the same, row by row as (column, value) pairs padded with column -1: scoring a few
        # thousand candidates gathers 4 numbers per clip instead of a row of every interest
        self.int_cols = np.full((0, 4), -1, np.int32)
        self.int_vals = np.zeros((0, 4), np.float32)
        self.created_at = np.zeros(0, np.float64)
        self.active = np.zeros(0, bool)
        self.n_tags = np.zeros(0, np.int16)
        self.in_stock = np.ones(0, bool)  # False when every tagged product is out of stock
        self.counters = {name: np.zeros(0, np.float64) for name in COUNTERS}
        self.engaged = np.zeros(0, np.float64)  # viewers who engaged (co-engagement normaliser)
        # (engaged + shrink) ** -(1 - alpha) per clip, kept in step with ``engaged``
        self.sim_norm = np.zeros(0, np.float64)
        self.trend = np.zeros(0, np.float64)  # time-decayed engagement, scaled by exp(-t_ref/tau)
        self.trend_ref = 0.0
        self.viewers: dict[Hashable, Viewer] = {}
        # co-engagement: pending (clip, the viewer's previously engaged clips) pairs, folded into
        # a CSR matrix by compact(); _pending counts the matrix entries they add
        self._pending_pairs: list[tuple[int, list[int]]] = []
        self._pending = 0
        # each clip's interests as (column, weight) pairs, for the per-event weight updates
        self._interest_pairs: list[tuple[tuple[int, float], ...]] = []
        self.co = sp.csr_matrix((0, 0), dtype=np.float32)
        self._co_scaled = np.zeros(0, np.float32)  # co.data x sim_norm of each entry's column
        self._scratch_mask = np.zeros(0, bool)  # see _scratch
        self._scratch_slot = np.zeros(0, np.int32)
        self._scratch_chosen = np.zeros(0, bool)
        self._compacted_at = 0.0
        self._compact_seconds = 0.0  # how long the last compaction took
        self._pools_at = 0.0
        self._quality: np.ndarray | None = None
        self._static: np.ndarray | None = None
        # the fresh pool in a random order with its Beta parameters (see _explore_order)
        self._fresh_sample: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._static_at = 0.0
        self._sim_dirty = False
        self.clock = 0.0
        self._pools: dict[str, np.ndarray] | None = None
        self._interest_pools: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ catalogue
    def _interest_col(self, key: Hashable) -> int:
        col = self.interest_index.get(key)
        if col is None:
            col = len(self.interest_keys)
            self.interest_keys.append(key)
            self.interest_index[key] = col
            if col >= self.interests.shape[1]:
                wider = np.zeros((self.interests.shape[0], 2 * self.interests.shape[1]), np.float32)
                wider[:, : self.interests.shape[1]] = self.interests
                self.interests = wider
                for v in self.viewers.values():
                    v.weights.extend([0.0] * (wider.shape[1] - len(v.weights)))
        return col

    def _creator(self, key: Hashable) -> int:
        idx = self.creator_index.get(key)
        if idx is None:
            idx = len(self.creator_keys)
            self.creator_keys.append(key)
            self.creator_index[key] = idx
            self.creator_clips[idx] = []
        return idx

    def upsert_clip(
        self,
        key: Hashable,
        *,
        creator: Hashable,
        interests: Iterable[Hashable],
        created_at: float = 0.0,
        n_tags: int = 0,
        in_stock: bool = True,
        active: bool = True,
    ) -> int:
        """Add (or update) a clip. Inactive clips are never served."""
        with self.lock:
            idx = self.clip_index.get(key)
            if idx is None:
                idx = self.n
                self.n += 1
                self.clip_keys.append(key)
                self.clip_index[key] = idx
                self.clip_creator = _grow(self.clip_creator, self.n)
                self.interests = _grow(self.interests, self.n)
                self.int_cols = _grow(self.int_cols, self.n, -1)
                self.int_vals = _grow(self.int_vals, self.n)
                self.created_at = _grow(self.created_at, self.n)
                self.active = _grow(self.active, self.n)
                self.n_tags = _grow(self.n_tags, self.n)
                self.in_stock = _grow(self.in_stock, self.n)
                self.engaged = _grow(self.engaged, self.n)
                self.sim_norm = _grow(self.sim_norm, self.n)
                self.sim_norm[idx] = self.config.sim_shrink ** -(1.0 - self.config.sim_alpha)
                self.trend = _grow(self.trend, self.n)
                for name in COUNTERS:
                    self.counters[name] = _grow(self.counters[name], self.n)
                self._interest_pairs.append(())
            c = self._creator(creator)
            old_creator = int(self.clip_creator[idx])
            if idx in self.creator_clips.get(old_creator, []):
                self.creator_clips[old_creator].remove(idx)
            self.clip_creator[idx] = c
            self.creator_clips[c].append(idx)
            cols = sorted({self._interest_col(k) for k in interests})
            self.interests[idx] = 0.0
            self.int_cols[idx] = -1
            self.int_vals[idx] = 0.0
            self._interest_pairs[idx] = tuple((col, 1.0 / math.sqrt(len(cols))) for col in cols)
            if cols:
                self.interests[idx, cols] = 1.0 / math.sqrt(len(cols))
                if len(cols) > self.int_cols.shape[1]:
                    extra = len(cols) - self.int_cols.shape[1]
                    self.int_cols = np.pad(self.int_cols, ((0, 0), (0, extra)), constant_values=-1)
                    self.int_vals = np.pad(self.int_vals, ((0, 0), (0, extra)))
                self.int_cols[idx, : len(cols)] = cols
                self.int_vals[idx, : len(cols)] = 1.0 / math.sqrt(len(cols))
            self.created_at[idx] = created_at
            self.active[idx] = active
            self.n_tags[idx] = n_tags
            self.in_stock[idx] = in_stock
            self._pools = None
            return idx

    def set_counters(self, key: Hashable, values: dict[str, float]) -> None:
        """Overwrite a clip's counters (from the database's exact aggregates)."""
        idx = self.clip_index.get(key)
        if idx is not None:
            for name, value in values.items():
                self.counters[name][idx] = value

    def set_active(self, key: Hashable, active: bool) -> None:
        with self.lock:
            idx = self.clip_index.get(key)
            if idx is not None:
                self.active[idx] = active
                self._pools = None

    def set_stock(self, key: Hashable, in_stock: bool) -> None:
        idx = self.clip_index.get(key)
        if idx is not None:
            self.in_stock[idx] = in_stock

    # ------------------------------------------------------------------ viewers
    def viewer(self, key: Hashable) -> Viewer:
        v = self.viewers.get(key)
        if v is None:
            v = Viewer(weights=[0.0] * self.interests.shape[1])
            self.viewers[key] = v
        return v

    def set_explicit_interests(self, key: Hashable, weights: dict[Hashable, float]) -> None:
        with self.lock:
            v = self.viewer(key)
            v.explicit = {self._interest_col(k): float(w) for k, w in weights.items()}
            v.weights.extend([0.0] * (self.interests.shape[1] - len(v.weights)))
            v.version += 1

    def follow(self, viewer: Hashable, creator: Hashable, on: bool = True) -> None:
        with self.lock:
            v = self.viewer(viewer)
            c = self._creator(creator)
            if on:
                v.follows.add(c)
            else:
                v.follows.discard(c)
            v.version += 1

    def set_blocks(self, viewer: Hashable, creators: Iterable[Hashable]) -> None:
        """The creators (users) whose clips this viewer never sees."""
        with self.lock:
            v = self.viewer(viewer)
            blocks = {self._creator(c) for c in creators}
            if blocks != v.blocks:
                v.blocks = blocks
                v.version += 1

    def current_weights(self, v: Viewer) -> np.ndarray:
        """The viewer's learned interest weights as of their last signal."""
        scale = 0.5 ** ((v.t_weights - v.w_ref) / self.config.interest_half_life_s)
        return np.asarray(v.weights, np.float64) * scale

    def effective_weights(self, v: Viewer) -> np.ndarray:
        w = np.maximum(self.current_weights(v), 0.0)
        if w.shape[0] < self.interests.shape[1]:
            w = np.pad(w, (0, self.interests.shape[1] - w.shape[0]))
        if v.explicit:
            top = max(float(w.max()), 1.0)
            for col, x in v.explicit.items():
                w[col] += x * top
        return w

    # ------------------------------------------------------------------ events
    def apply(
        self,
        viewer: Hashable,
        kind: EventType,
        clip: Hashable | None,
        t: float,
        *,
        progress: float = 0.0,
        creator: Hashable | None = None,
    ) -> None:
        """Apply one event (see ``apply_many``). ``progress`` is the watched fraction (0..1) of a
        view progress event."""
        self.apply_many(((viewer, kind, clip, t, progress, creator),))

    def apply_many(self, events: Iterable[EngineEvent]) -> int:
        """Apply events in order: counters, viewer weights, seen set, co-engagement, trending.

        Each event is ``(viewer, kind, clip, t, progress, creator)``. The per-event work is plain
        Python on dicts, sets and lists; the array updates of the whole batch (counters, trending,
        the co-engagement normaliser) are applied at the end in a few vectorised calls, and the
        co-engagement pairs are only built into arrays when they are folded (``compact``). So a
        batch costs a few microseconds per event. Returns the number of events applied."""
        cfg = self.config
        half_life = cfg.interest_half_life_s
        tau = cfg.trending_half_life_s / math.log(2)
        window = cfg.co_window
        history_size = cfg.history_size
        follow, unfollow = EventType.follow, EventType.unfollow
        like, unlike = EventType.like, EventType.unlike
        # comments are counted by the analytics; they are not a feed signal (nor a "seen" mark)
        comment, uncomment = EventType.comment, EventType.uncomment
        counter_of = _COUNTER_OF
        with self.lock:
            clip_index = self.clip_index
            viewers = self.viewers
            pairs = self._interest_pairs
            bumps: dict[str, list[int]] = {name: [] for name in COUNTERS}
            unliked: list[int] = []
            trend_idx: list[int] = []
            trend_add: list[float] = []
            engaged: list[int] = []
            pending = self._pending_pairs
            clock = self.clock
            applied = 0
            for viewer, kind, clip, t, progress, creator in events:
                applied += 1
                if kind is comment or kind is uncomment:
                    continue
                if t > clock:
                    clock = t
                v = viewers.get(viewer)
                if v is None:
                    v = self.viewer(viewer)
                v.version += 1
                if kind is follow or kind is unfollow:
                    if creator is None and clip is not None and clip in clip_index:
                        c = int(self.clip_creator[clip_index[clip]])
                    elif creator is not None:
                        c = self._creator(creator)
                    else:
                        continue
                    if kind is follow:
                        v.follows.add(c)
                    else:
                        v.follows.discard(c)
                    continue
                idx = clip_index.get(clip) if clip is not None else None
                if idx is None:
                    continue
                v.seen.add(idx)
                if kind is like:
                    if idx in v.liked:  # a like counts once per viewer, like the stored likes
                        bump = None
                    else:
                        v.liked.add(idx)
                        bump = "likes"
                elif kind is unlike:
                    bump = None
                    if idx in v.liked:
                        v.liked.discard(idx)
                        unliked.append(idx)
                else:
                    bump = counter_of.get(kind)
                if bump is not None:
                    bumps[bump].append(idx)
                s = signal_for(kind, progress)
                if s == 0.0:
                    continue
                # interest weights, decayed in time: kept in units of the viewer's reference time
                # (actual = stored x 0.5 ** ((t_weights - w_ref) / half-life)), so an event adds
                # to its clip's few interests instead of decaying every interest
                if v.t_weights == 0.0 and v.w_ref == 0.0:  # the viewer's first signal
                    v.w_ref = t
                elif abs(t - v.w_ref) > 32 * half_life:
                    v.rebase(t, half_life)
                if t > v.t_weights:
                    v.t_weights = t
                f = s * 2.0 ** ((t - v.w_ref) / half_life)
                weights = v.weights
                for col, x in pairs[idx]:
                    weights[col] += f * x
                if s <= 0:
                    continue
                # trending (exponentially decayed, stored relative to trend_ref)
                if (t - self.trend_ref) / tau > 50:
                    self._add_trend(trend_idx, trend_add)
                    trend_idx, trend_add = [], []
                    self.trend *= math.exp(-(t - self.trend_ref) / tau)
                    self.trend_ref = t
                trend_idx.append(idx)
                trend_add.append(s * math.exp((t - self.trend_ref) / tau))
                # history + co-engagement with the last engaged clips
                strength = v.strength
                prev = strength.get(idx)
                if prev is not None:
                    strength[idx] = prev + s
                    continue
                strength[idx] = s
                engaged.append(idx)
                history = v.history
                if history:
                    pending.append((idx, history[-window:]))
                    self._pending += 2 * min(len(history), window)
                history.append(idx)
                if len(history) > history_size:
                    strength.pop(history.pop(0), None)
            self.clock = clock
            if pending:
                self._sim_dirty = True
            counters = self.counters
            for name, idxs in bumps.items():
                if idxs:
                    np.add.at(counters[name], idxs, 1.0)
            if unliked:
                likes = counters["likes"]
                np.subtract.at(likes, unliked, 1.0)
                likes[unliked] = np.maximum(likes[unliked], 0.0)
            self._add_trend(trend_idx, trend_add)
            if engaged:
                np.add.at(self.engaged, engaged, 1.0)
                self.sim_norm[engaged] = (self.engaged[engaged] + cfg.sim_shrink) ** -(1.0 - cfg.sim_alpha)
            if self._pending > cfg.compact_max_pending:
                self.compact()
            return applied

    def retract_many(self, events: Iterable[EngineEvent]) -> int:
        """Take events applied earlier back out of the clips' counters and trending (events found
        inauthentic after the fact), so they lift neither quality nor trending. A viewer's own
        state (interest weights, history) is left as it is: it only shapes that viewer's feed.
        Returns the number of events taken out."""
        tau = self.config.trending_half_life_s / math.log(2)
        like, follow = EventType.like, EventType.follow
        with self.lock:
            counters, trend = self.counters, self.trend
            taken = 0
            for viewer, kind, clip, t, progress, creator in events:
                v = self.viewers.get(viewer)
                if kind is follow:
                    c = self.creator_index.get(creator) if creator is not None else None
                    if v is not None and c is not None:
                        v.follows.discard(c)
                    taken += 1
                    continue
                idx = self.clip_index.get(clip) if clip is not None else None
                if idx is None:
                    continue
                taken += 1
                if kind is like:
                    if v is not None and idx in v.liked:
                        v.liked.discard(idx)
                        counters["likes"][idx] = max(0.0, counters["likes"][idx] - 1.0)
                else:
                    name = _COUNTER_OF.get(kind)
                    if name is not None:
                        counters[name][idx] = max(0.0, counters[name][idx] - 1.0)
                s = signal_for(kind, progress)
                if s > 0:
                    trend[idx] = max(0.0, trend[idx] - s * math.exp((t - self.trend_ref) / tau))
            return taken

    def _add_trend(self, idx: list[int], add: list[float]) -> None:
        if idx:
            np.add.at(self.trend, idx, add)

    # ------------------------------------------------------------------ co-engagement
    def compact(self) -> None:
        """Fold pending co-engagement pairs into the co-count matrix (cost ~ its size)."""
        with self.lock:
            started = time.perf_counter()
            n = self.n
            co = self.co
            if co.shape[0] < n:
                indptr = np.pad(co.indptr, (0, n - co.shape[0]), mode="edge")
                co = sp.csr_matrix((co.data, co.indices, indptr), shape=(n, n))
            if self._pending_pairs:
                i, j, w = _pairs_arrays(self._pending_pairs)
                add = sp.csr_matrix((w, (i, j)), shape=(n, n), dtype=np.float32)
                co = (co + add).tocsr()
                self._pending_pairs = []
                self._pending = 0
            self.co = co
            # each entry times its column's normaliser, as of this fold (the normalisers move
            # with the counts, which the matrix only takes in at the next fold anyway)
            self._co_scaled = co.data * self.sim_norm[co.indices].astype(np.float32)
            self._sim_dirty = False
            self._compacted_at = time.monotonic()
            self._compact_seconds = time.perf_counter() - started

    def maybe_compact(self) -> None:
        """Compact when it is cheap, or when the last compaction is old enough."""
        if not self._sim_dirty:
            return
        small = self.co.nnz + self._pending < self.config.compact_small_entries
        # a large matrix costs up to a second to rebuild: wait long enough between two that
        # compacting takes at most ``compact_max_share`` of the time
        interval = max(self.config.compact_interval_s, self._compact_seconds / self.config.compact_max_share)
        if small or time.monotonic() - self._compacted_at > interval:
            self.compact()

    def _scratch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Catalogue-sized work arrays of a rank, all zero between ranks (a rank holds the lock
        and clears what it set): zeroing them for every rank cost more than the rank's use."""
        if self._scratch_mask.shape[0] < self.n:
            self._scratch_mask = np.zeros(self.n + 4096, bool)
            self._scratch_slot = np.zeros(self.n + 4096, np.int32)
            self._scratch_chosen = np.zeros(self.n + 4096, bool)
        return self._scratch_mask, self._scratch_slot, self._scratch_chosen

    def _similar(self, v: Viewer, slot: np.ndarray) -> Affinity | None:
        """The co-engagement affinity of the clips for this viewer (recency-weighted history).

        similarity(i, j) = co(i, j) / (n_i^alpha * n_j^(1-alpha)): the n_j part is applied to the
        matrix when pairs are folded into it, the n_i part here. ``slot`` is an all-zero work
        array over the clips: the result's ``slot``, to be cleared at ``ids`` after use.
        """
        if not v.history:
            return None
        self.maybe_compact()
        cfg = self.config
        co = self.co
        if self._co_scaled.shape != co.data.shape:  # the compiled loop does not check its bounds
            raise RuntimeError("co-engagement weights out of step with the matrix")
        # only the recent history: older clips weigh little (half-life in positions); the rows of
        # the co-count matrix are summed straight from the CSR arrays: only neighbours are touched
        recent = v.history[-cfg.sim_history :]
        ids, scores = kernels.gather_affinity(
            np.array(recent, np.int64),
            np.array([v.strength.get(h, 1.0) for h in recent]),
            self.engaged,
            cfg.history_half_life,
            cfg.sim_shrink,
            cfg.sim_alpha,
            co.shape[0],
            co.indptr,
            co.indices,
            self._co_scaled,
            slot,
        )
        return Affinity(ids, scores, slot) if ids.size else None

    # ------------------------------------------------------------------ quality
    def quality(self, idx: np.ndarray) -> np.ndarray:
        """Bayesian-smoothed engagement rates, combined relative to their priors (1.0 = average)."""
        cfg = self.config
        c = self.counters
        imp = np.maximum(c["impressions"][idx], c["views"][idx])

        def rate(num: np.ndarray, den: np.ndarray, prior: tuple[float, float]) -> np.ndarray:
            m, k = prior
            return ((num + m * k) / (den + k)) / m

        q = (
            0.45 * rate(c["completes"][idx], imp, cfg.prior_complete)
            + 0.25 * rate(c["likes"][idx], imp, cfg.prior_like)
            + 0.1 * rate(c["shares"][idx], imp, cfg.prior_share)
            + 0.1 * rate(c["taps"][idx], imp, cfg.prior_tap)
            + 0.1 * rate(c["purchases"][idx], c["taps"][idx], cfg.prior_conversion)
        )
        return np.clip(q, 0.2, 5.0) ** cfg.quality_power

    def _quality_cache(self, idx: np.ndarray) -> np.ndarray:
        """Quality of every clip, recomputed with the pools (counters move slowly at that scale)."""
        q = self._quality
        if q is None or q.shape[0] < self.n:
            q = self._quality = self.quality(np.arange(self.n))
        return q[idx]

    def _static_factor(self, idx: np.ndarray, now: float) -> np.ndarray:
        """quality x freshness of clips ``idx``: computed for every clip with the pools (and reused
        while the clock is within a minute of then: freshness has a half-life of days)."""
        static = self._static
        if static is not None and static.shape[0] >= self.n and abs(now - self._static_at) < 60.0:
            return np.take(static, idx)
        return self._quality_cache(idx) * self.freshness(idx, now)

    def freshness(self, idx: np.ndarray, now: float) -> np.ndarray:
        cfg = self.config
        age = np.maximum(now - self.created_at[idx], 0.0)
        return cfg.freshness_floor + (1 - cfg.freshness_floor) * np.exp2(-age / cfg.freshness_half_life_s)

    # ------------------------------------------------------------------ pools
    def maybe_refresh_pools(self) -> None:
        if self._pools is None or time.monotonic() - self._pools_at > self.config.pools_interval_s:
            self.refresh_pools()

    def refresh_pools(self) -> None:
        """Precompute the viewer-independent pools: per interest, trending, fresh."""
        with self.lock:
            cfg = self.config
            n = self.n
            act = np.flatnonzero(self.active[:n])
            pools: dict[str, np.ndarray] = {}
            self._interest_pools = {}
            if act.size == 0:
                self._pools = {"trending": act, "popular": act, "fresh": act}
                self._fresh_sample = None
                self._pools_at = time.monotonic()
                return
            base = self.quality(act) * np.log1p(self.engaged[act] + 1) * self.in_stock[act]
            trend = self.trend[act]
            pools["trending"] = act[_top(trend, cfg.pool_size)]
            pools["popular"] = act[_top(base, cfg.pool_size)]
            imp = np.maximum(self.counters["impressions"][act], self.counters["views"][act])
            is_fresh = imp < cfg.explore_max_impressions
            fresh = act[is_fresh]
            pools["fresh"] = fresh
            # the exploration bandit's Beta(completes + a, impressions - completes + b) per fresh clip
            m, k = cfg.prior_complete
            f_imp = imp[is_fresh]
            f_comp = np.minimum(self.counters["completes"][fresh], f_imp)
            a, b = f_comp + m * k * 0.25 + 1, f_imp - f_comp + (1 - m) * k * 0.25 + 1
            # in a random order, the first few repeated at the end (see _explore_order)
            shuffled = self.rng.permutation(fresh.size)
            shuffled = np.concatenate([shuffled, shuffled[:_EXPLORE_SAMPLE]])
            self._fresh_sample = (fresh[shuffled], a[shuffled], b[shuffled])
            mat = self.interests[act]
            for col in range(len(self.interest_keys)):
                members = np.flatnonzero(mat[:, col] > 0)
                if members.size:
                    self._interest_pools[col] = act[
                        members[_top(base[members] + 1e-3 * trend[members], cfg.pool_size)]
                    ]
            self._pools = pools
            self._pools_at = time.monotonic()
            self._quality = self.quality(np.arange(n))
            self._static = self._quality * self.freshness(np.arange(n), self.clock)
            self._static_at = self.clock

    # ------------------------------------------------------------------ ranking
    def rank(
        self, viewer: Hashable, n: int, now: float | None = None, exclude: Iterable[int] = ()
    ) -> list[Ranked]:
        """The viewer's next ``n`` clips: pools -> vectorised score -> diversity re-rank."""
        got = self.rank_columns(viewer, n, now, exclude)
        return [
            Ranked(c, s, Reason(r), a)
            for c, s, r, a in zip(got.clips, got.scores, got.reasons, got.args, strict=True)
        ]

    def rank_columns(
        self, viewer: Hashable, n: int, now: float | None = None, exclude: Iterable[int] = ()
    ) -> RankedColumns:
        """``rank`` as parallel lists (no object per clip: the feed's pages read them so)."""
        with self.lock:
            if self._pools is None:
                self.refresh_pools()
            now = self.clock if now is None else now
            v = self.viewer(viewer)
            w = self.effective_weights(v)
            blocked, slot, _chosen = self._scratch()
            # what the viewer has seen (or this session already holds), as a mask over the clips
            shut = v.seen.union(exclude)
            if v.blocks:  # the clips of creators the viewer blocked (most viewers block nobody)
                for creator in v.blocks:
                    shut.update(self.creator_clips.get(creator, ()))
            seen = np.fromiter(shut, np.int64)
            blocked[seen] = True
            found: Affinity | None = None
            try:
                found = self._similar(v, slot)
                return self._rank(v, w, found, blocked, n, now)
            finally:
                blocked[seen] = False
                if found is not None:
                    slot[found.ids] = 0

    def _rank(
        self, v: Viewer, w: np.ndarray, found: Affinity | None, blocked: np.ndarray, n: int, now: float
    ) -> RankedColumns:
        """Pools -> vectorised score -> diversity re-rank (``blocked``: the clips not to show)."""
        assert self._pools is not None
        cfg = self.config
        parts = [self._pools["trending"], self._pools["popular"]]
        if w.any():
            for col in np.argsort(-w)[: cfg.interest_pools].tolist():
                if w[col] > 0 and col in self._interest_pools:
                    parts.append(self._interest_pools[col])
        if found is not None:  # the strongest neighbours: usually a small part of the catalogue
            parts.append(found.ids[_top(found.scores, 2 * cfg.pool_size)])
        for c in v.follows:
            parts.append(np.asarray(self.creator_clips.get(c, []), np.int64))
        # union of the pools (a few thousand clips) minus what the viewer has seen, sorted (numpy's
        # sort of a few thousand ints is far faster than a compiled one here)
        cand = np.sort(
            kernels.union_candidates(
                np.concatenate(parts).astype(np.int64, copy=False), self.active, blocked, self._scratch()[2]
            )
        )
        if cand.size == 0 and self._pools["fresh"].size == 0:
            return RankedColumns([], [], [], [])
        # weighted signals, each normalised to 0..1 over the candidates, one row each:
        # follow, similar, interest, trending, popular (see kernels.score_candidates)
        followed = np.zeros(len(self.creator_keys) if v.follows else 0, bool)
        if v.follows:
            followed[np.fromiter(v.follows, np.int64, len(v.follows))] = True
        wsum = float(w.max())
        tr = self.trend[cand]
        tr_top = tr.max() if tr.size else 0.0
        trending = np.log1p(tr * (100 / tr_top)) if tr_top > 0 else tr
        popular = self.engaged[cand]
        pop_top = popular.max() if popular.size else 0.0
        weights = np.array(
            [
                cfg.w_follow,
                cfg.w_similar,
                cfg.w_interest / wsum if wsum > 0 else 0.0,
                cfg.w_trending / math.log(101) if tr_top > 0 else 0.0,
                cfg.w_popular / math.log1p(pop_top) if pop_top > 0 else 0.0,
            ]
        )
        score, contrib = kernels.score_candidates(
            cand,
            self.clip_creator,
            followed,
            found.slot if found is not None else self._scratch()[1],
            np.append(0.0, found.scores) if found is not None else np.zeros(1),
            self.int_cols,
            self.int_vals,
            np.append(w, 0.0),
            trending,
            np.log1p(popular) if pop_top > 0 else popular,
            self._static_factor(cand, now),
            self.in_stock,
            weights,
            cfg.out_of_stock_factor,
        )
        return self._rerank(w, cand, score, contrib, blocked, n)

    def _rerank(
        self,
        w: np.ndarray,
        cand: np.ndarray,
        score: np.ndarray,
        contrib: np.ndarray,
        blocked: np.ndarray,  # mask over the clips
        n: int,
    ) -> RankedColumns:
        """Diversity re-rank, vectorised: interest mix, then one cheap pass for the hard rules.

        1. Interest mix: the order blends relevance with a fair-share schedule in which each
           interest gets slots in proportion to the viewer's weights (softened so minor interests
           still appear): the k-th best clip of an interest with share s is due at slot k / s.
        2. One pass fills the slots in that order, skipping ahead (a few places) when a clip would
           break creator spacing or the product-heavy run cap, and gives every
           ``1/explore_share``-th slot to a Thompson-sampled fresh clip.
        """
        cfg = self.config
        window = max(cfg.rerank_window_factor * n, cfg.rerank_window_min)
        order = _top(score, window)  # the window first (linear), then sort only the window
        order = order[np.argsort(-score[order], kind="stable")]
        cand, score = cand[order], score[order]
        n_interests = max(len(self.interest_keys), 1)
        wv = w[: self.interests.shape[1]]
        total = wv.sum()
        target = wv / total if total > 0 else np.full(wv.shape[0], 1.0 / n_interests)
        target = (1 - cfg.mix_floor) * target + cfg.mix_floor / n_interests
        # the interest mix (see kernels.mix_order); a clip without interests counts for the floor
        ranked, primary = kernels.mix_order(
            np.take(self.int_cols, cand, axis=0),
            np.append(wv + 1e-9, -1.0),
            np.append(target, cfg.mix_floor / n_interests),
            cfg.mix_strength,
        )
        # lay every per-clip column out in that order: the pass below walks them front to back
        cand, score, primary, order = cand[ranked], score[ranked], primary[ranked], order[ranked]
        creator_arr = self.clip_creator[cand]
        heavy_arr = self.n_tags[cand] >= cfg.product_heavy_tags
        explore = self._explore_order(w, blocked)
        every = round(1 / cfg.explore_share) if cfg.explore_share > 0 else 0
        explore_slot = np.zeros(n, bool)
        if every:
            explore_slot[cfg.explore_first_slot + every - 1 :: every] = True
        pick = kernels.place_slots(
            cand,
            creator_arr,
            heavy_arr,
            explore,
            self.clip_creator[explore],
            self.n_tags[explore] >= cfg.product_heavy_tags,
            explore_slot,
            n,
            cfg.creator_spacing,
            cfg.product_heavy_run_cap,
            25,  # how far down the explore list to look for a clip that keeps the rules
            self._scratch()[2],
        )
        clips, scores, reasons, args = kernels.pick_columns(
            pick,
            cand,
            score,
            contrib,
            order,
            primary,
            creator_arr,
            np.ascontiguousarray(wv, dtype=np.float64),
        )
        return RankedColumns(clips.tolist(), scores.tolist(), reasons.tolist(), args.tolist())

    def _explore_order(self, w: np.ndarray, blocked: np.ndarray) -> np.ndarray:
        """Thompson sampling over the pools' fresh clips: Beta(completes + a, impressions -
        completes + b), with the parameters computed with the pools.

        Fresh clips matching the viewer's interests get a prior bonus so exploration stays relevant.
        """
        if self._pools is None or self._fresh_sample is None or self.config.explore_share <= 0:
            return np.zeros(0, np.int64)
        # the pools keep the fresh clips in a random order (and their Beta parameters), with the
        # first ``sample`` repeated at the end: a window at a random offset is a random sample of
        # a large pool, taken as views (O(1) per request)
        clips, a, b = self._fresh_sample
        size = self._pools["fresh"].size
        start = self._prng.randrange(size) if size > _EXPLORE_SAMPLE else 0
        stop = start + min(_EXPLORE_SAMPLE, size)
        # what the viewer has seen (or this session holds) is skipped; may repeat a clip: the
        # re-rank places each once
        return kernels.explore_pick(
            clips[start:stop],
            self.rng.beta(a[start:stop], b[start:stop]),
            blocked,
            self.in_stock,
            self.int_cols,
            self.int_vals,
            np.append(w, 0.0),
            float(w.max()) if w.size else 0.0,
            self.config.out_of_stock_factor,
            64,
        )


_EXPLORE_SAMPLE = 256  # fresh clips drawn from per request


class RankedColumns(NamedTuple):
    """A ranking as parallel lists: clip index, score, reason code (``Reason``), reason argument."""

    clips: list[int]
    scores: list[float]
    reasons: list[int]
    args: list[int]


def _pairs_arrays(pending: list[tuple[int, list[int]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, weights) of the co-engagement entries of pending (clip, earlier clips)
    pairs, both directions: an earlier clip k positions back weighs 1/sqrt(k)."""
    lens = np.fromiter((len(earlier) for _, earlier in pending), np.int64, len(pending))
    total = int(lens.sum())
    src = np.repeat(np.fromiter((clip for clip, _ in pending), np.int32, len(pending)), lens)
    dst = np.fromiter(itertools.chain.from_iterable(earlier for _, earlier in pending), np.int32, total)
    # distance of each earlier clip from its clip: len, len-1, ..., 1 within each group
    ends = np.cumsum(lens)
    distance = np.repeat(ends, lens) - np.arange(total)
    w = (1.0 / np.sqrt(distance)).astype(np.float32)
    return np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([w, w])


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values (unordered), vectorised."""
    if values.size <= k:
        return np.arange(values.size)
    return np.argpartition(-values, k)[:k]


def keys_of(engine: FeedEngine, ranked: Sequence[Ranked]) -> list[Hashable]:
    return [engine.clip_keys[r.clip] for r in ranked]
