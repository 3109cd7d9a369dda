"""Explore's pipeline on a small simulated world: every filter and every fallback."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace
from typing import Any

import faiss
import lightgbm
import numpy as np
import pytest

from aperture.explore.catalogue import NETWORK_FAST, NETWORK_SLOW, Action, InteractionLog
from aperture.explore.features import (
    FEATURE_NAMES,
    Context,
    UserFeatures,
    Viewer,
    positions,
    post_stats,
    session_states,
    trending_list,
)
from aperture.explore.model import ExploreModel, ModelRefresh
from aperture.explore.pipeline import Explore, ExploreConfig
from aperture.explore.refresh import build_refresh
from aperture.explore.towers import TowerConfig
from aperture.explore.training import TrainingConfig, train
from simulator.world import DAY, World, WorldSpec, generate

SMALL = WorldSpec(users=800, posts=6_000, communities=8, days=14.0, sessions_per_user=10.0, seed=3)
TRAINING = TrainingConfig(
    dimensions=16,
    communities=8,
    community_size=400,
    trending_size=200,
    towers=TowerConfig(dimensions=16, max_steps=800, batch=512),
)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(SMALL)


@pytest.fixture(scope="module")
def trained(world: World) -> tuple[ExploreModel, UserFeatures]:
    model, users, _ = train(world.catalogue, world.interactions, world.now, "v-test", TRAINING)
    return model, users


def unhurried(**changes: Any) -> ExploreConfig:
    """Stage budgets a loaded test machine meets: the production ones are tested on their own below."""
    return ExploreConfig(retrieval_budget_ms=60_000.0, ranking_budget_ms=60_000.0, **changes)


@pytest.fixture
def explore(trained: tuple[ExploreModel, UserFeatures]) -> Explore:
    return Explore(trained[0], unhurried(page_size=40, ranked_size=120, community_size=400))


def _viewer(world: World, users: UserFeatures, n: int = 0) -> Viewer:
    user = str(users.user_id[n])
    mine = world.interactions.user_id == user
    return Viewer(
        user_id=user,
        vector=users.vector[n],
        community=int(users.community[n]),
        kinds=users.kinds[n],
        tower=users.tower[n],
        recent=tuple(dict.fromkeys(world.interactions.post_id[mine][::-1].tolist()))[:100],
        following=frozenset(world.follows[user]),
    )


def _rows(world: World, post_ids: list[str], column: Any) -> list[Any]:
    where = {p: n for n, p in enumerate(world.catalogue.post_id.tolist())}
    return [column[where[p]] for p in post_ids]


def test_a_known_user_gets_a_full_page_from_personal_sources_with_reasons(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given a user the batch embedded
    viewer = _viewer(world, trained[1])
    # When they open Explore
    page = explore.page(viewer, world.now)
    # Then the page is full, no fallback was needed, and each post says where it came from
    assert len(page.items) == 40
    assert page.fallbacks == []
    assert {pick.source for pick in page.items} <= {"interest", "community", "trending"}
    assert {"interest", "community"} & {pick.source for pick in page.items}
    assert all(pick.score > 0 for pick in page.items)
    assert page.model_version == "v-test"
    assert set(page.timings_ms) == {"retrieval", "ranking", "filters", "total"}


def test_seen_own_followed_unsafe_old_and_future_posts_are_never_candidates(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given a user who has seen posts and follows creators
    viewer = _viewer(world, trained[1], 5)
    # When Explore lists a page
    shown = [pick.post_id for pick in explore.page(viewer, world.now).items]
    # Then none was seen, none is theirs or a followed creator's; all are approved and from the last week
    assert not set(shown) & set(viewer.recent)
    authors = _rows(world, shown, world.catalogue.author_id)
    assert viewer.user_id not in authors
    assert not set(authors) & viewer.following
    assert set(_rows(world, shown, world.catalogue.verdict)) == {"approved"}
    created = _rows(world, shown, world.catalogue.created_at)
    assert all(world.now - 7 * DAY <= at <= world.now for at in created)


def test_a_post_flagged_after_the_batch_is_filtered_out(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given a page, and its first post flagged by moderation since the model was built
    viewer = _viewer(world, trained[1], 7)
    first = explore.page(viewer, world.now).items[0].post_id
    # When the viewer asks again
    again = explore.page(replace(viewer, unsafe=frozenset({first})), world.now)
    # Then the flagged post is gone
    assert first not in [pick.post_id for pick in again.items]


def test_reported_and_low_quality_posts_are_filtered_out(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # When ten users open Explore
    model = trained[0]
    where = {p: n for n, p in enumerate(model.catalogue.post_id.tolist())}
    for n in range(10):
        page = explore.page(_viewer(world, trained[1], n), world.now)
        rows = [where[pick.post_id] for pick in page.items]
        # Then every post is above the quality floor and under the reports threshold
        assert all(model.stats.quality[r] >= explore.quality_floor for r in rows)
        assert all(model.stats.integrity_risk[r] <= explore.config.max_integrity_risk for r in rows)
    assert explore.quality_floor > 0


def test_no_author_twice_in_a_row_and_no_kind_over_its_share(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    for n in range(10):
        # When a user opens Explore
        items = explore.page(_viewer(world, trained[1], n), world.now).items
        # Then no author follows themselves, and no content kind fills more than 60% of the page
        assert all(a.author_id != b.author_id for a, b in itertools.pairwise(items))
        kinds = [pick.kind for pick in items]
        assert max(kinds.count(kind) for kind in set(kinds)) <= 0.6 * 40


def test_a_repeated_author_is_discounted(world: World, trained: tuple[ExploreModel, UserFeatures]) -> None:
    # Given pages with and without the author discount
    viewer = _viewer(world, trained[1], 3)
    strict = Explore(trained[0], unhurried(page_size=40, author_discount=0.1))
    lenient = Explore(trained[0], unhurried(page_size=40, author_discount=1.0))
    # Then the discount spreads the page over more authors
    distinct = {
        name: len({p.author_id for p in explore.page(viewer, world.now).items})
        for name, explore in (("strict", strict), ("lenient", lenient))
    }
    assert distinct["strict"] > distinct["lenient"]


def test_a_stranger_with_no_history_gets_global_trending(world: World, explore: Explore) -> None:
    # Given a user the batch never saw, who has done nothing yet
    page = explore.page(Viewer(user_id="u_newcomer"), world.now)
    # Then the page comes from global trending, and says so
    assert page.fallbacks == ["global_trending"]
    assert len(page.items) == 40
    assert {pick.source for pick in page.items} == {"trending"}


def test_a_new_user_who_just_engaged_gets_personal_candidates_folded_in(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given a new user whose only history is what the stream just recorded: another user's recent posts
    recent = _viewer(world, trained[1], 11).recent[:20]
    page = explore.page(Viewer(user_id="u_newcomer", recent=recent), world.now)
    # Then retrieval is personal again
    assert page.fallbacks == []
    assert {"interest", "community"} & {pick.source for pick in page.items}


def test_the_two_tower_model_scores_what_users_engaged_with_above_what_they_never_saw(
    world: World, trained: tuple[ExploreModel, UserFeatures]
) -> None:
    # Given the trained towers, and for 200 users one post they liked and one they were never shown
    model, users = trained
    assert model.towers is not None
    vectors = model.towers.post_vectors(world.catalogue, world.now)[:, :-1]
    rng = np.random.default_rng(1)
    log, where = world.interactions, positions(world.catalogue, world.interactions)
    wins = []
    for n in rng.choice(len(users.user_id), 200, replace=False):
        mine = where.user == n
        liked = where.post[mine & (log.action == Action.LIKE)]
        unseen = np.setdiff1d(np.arange(len(world.catalogue)), where.post[mine])
        if len(liked):
            tower = users.tower[n]
            wins.append(vectors[rng.choice(liked)] @ tower > vectors[rng.choice(unseen)] @ tower)
    # Then the liked post scores higher for at least 70% of them (chance: 50%, give or take 3.5%)
    assert len(wins) >= 150
    assert np.mean(wins) >= 0.7


def test_a_post_with_no_interactions_yet_is_embedded_from_its_creator_and_kind(
    world: World, trained: tuple[ExploreModel, UserFeatures]
) -> None:
    # Given a known creator's new post, never viewed, and a post by someone who never posted before
    towers = trained[0].towers
    assert towers is not None
    catalogue = world.catalogue
    fresh = replace(
        catalogue,
        post_id=np.array(["p_fresh", "p_stranger"]),
        author_id=np.array([catalogue.author_id[0], "u_never_posted"]),
        kind=catalogue.kind[:2],
        created_at=np.full(2, world.now),
        duration=np.zeros(2),
        verdict=np.array(["approved"] * 2),
    )
    # When the towers embed them (the training catalogue's own posts have rows of their ids; these do not)
    towers = replace(towers, items=np.zeros((2, towers.items.shape[1]), dtype=np.float32))
    vectors = towers.post_vectors(fresh, world.now)
    # Then the creator's post is retrievable at once, and the stranger's is left out of the index
    assert np.linalg.norm(vectors[0, :-1]) == pytest.approx(1.0, abs=1e-5)
    assert not vectors[1].any()


def test_the_learned_age_bias_favours_the_posts_of_the_last_days(
    trained: tuple[ExploreModel, UserFeatures],
) -> None:
    # Given the towers' bias by six-hour age bucket (the simulated sessions show last week's posts)
    towers = trained[0].towers
    assert towers is not None
    # Then a post's first day is worth more than its eighth, where nobody is shown it any more
    assert towers.age_bias[:4].mean() > towers.age_bias[-1] + 1.0


def test_the_two_tower_odds_weigh_in_each_posts_value(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given a viewer, and the same pipeline without the two-tower odds in the values
    model, users = trained
    towers = model.towers
    assert towers is not None
    viewer = _viewer(world, users, 5)
    unweighed = Explore(model, replace(explore.config, reach_weight=0.0))
    # When each builds the viewer's page
    pages = {
        name: ex.page(viewer, world.now).items for name, ex in (("weighed", explore), ("not", unweighed))
    }
    # Then the weighed page holds posts the viewer is likelier to come to: a higher mean two-tower score
    query = towers.query(users.tower[5])[0]
    position = {post: n for n, post in enumerate(world.catalogue.post_id.tolist())}

    def mean_score(items: list[Any]) -> float:
        posts = np.array([position[item.post_id] for item in items])
        return float(np.mean(towers.post_vectors(world.catalogue, world.now, posts) @ query))

    assert len(pages["weighed"]) == len(pages["not"]) == 40
    assert mean_score(pages["weighed"]) > mean_score(pages["not"]) + 0.1


def test_a_viewer_without_a_two_tower_vector_is_served_by_the_svd_index_and_it_says_so(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given features from a batch before the two-tower model: an SVD vector, no tower, no recent actions
    viewer = replace(_viewer(world, trained[1], 2), tower=None, recent=())
    # When they open Explore
    page = explore.page(viewer, world.now)
    # Then the SVD index found the interest candidates, and the page says so
    assert page.fallbacks == ["svd_retrieval"]
    assert "interest" in {pick.source for pick in page.items}


def test_a_model_from_before_the_two_tower_model_still_serves(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given an artefact with no towers, as the batch wrote before they existed
    older = Explore(replace(trained[0], towers=None, tower_index=None), explore.config)
    viewer = _viewer(world, trained[1], 3)
    older_model = ExploreModel.from_bytes(older.model.to_bytes())
    # Then it round-trips without them, and serves a full personal page from the SVD index
    assert older_model.towers is None
    assert older_model.tower_index is None
    page = older.page(viewer, world.now)
    assert page.fallbacks == []
    assert len(page.items) == 40
    assert "interest" in {pick.source for pick in page.items}


def test_rankers_from_before_the_context_columns_still_rank(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given rankers and a linear model that know only the columns before the request's context
    before = FEATURE_NAMES.index("network")
    rng = np.random.default_rng(3)
    rows, labels = rng.normal(size=(500, before)).astype(np.float32), rng.random(500) < 0.3
    booster = lightgbm.train({"objective": "binary", "verbosity": -1}, lightgbm.Dataset(rows, labels), 5)
    fallback = trained[0].fallback
    older = replace(
        trained[0],
        rankers=dict.fromkeys(trained[0].rankers, booster),
        fallback=replace(
            fallback,
            mean=fallback.mean[:before],
            scale=fallback.scale[:before],
            weights=fallback.weights[:before],
        ),
    )
    # When a page is ranked with them
    page = Explore(older, explore.config).page(_viewer(world, trained[1], 5), world.now)
    # Then they rank it without falling back
    assert page.fallbacks == []
    assert len(page.items) == 40


def _video_share(explore: Explore, viewer: Viewer, now: float) -> float:
    return float(np.mean([pick.kind != "photo" for pick in explore.page(viewer, now).items]))


def test_on_a_slow_network_explore_shows_fewer_videos(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given twenty users (in the simulated world, videos and reels stall on slow networks)
    viewers = [_viewer(world, trained[1], n) for n in range(20)]
    # When each asks from a fast and from a slow network
    fast = [
        _video_share(explore, replace(v, context=Context(network=NETWORK_FAST)), world.now) for v in viewers
    ]
    slow = [
        _video_share(explore, replace(v, context=Context(network=NETWORK_SLOW)), world.now) for v in viewers
    ]
    # Then the slow pages hold fewer videos and reels, for most of them and on average
    assert sum(s < f for s, f in zip(slow, fast, strict=True)) >= 15
    assert np.mean(slow) < np.mean(fast) - 0.1


def test_every_tenth_slot_goes_to_the_best_post_of_the_last_six_hours(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given a user, and the posts made in the six hours before they ask
    viewer = _viewer(world, trained[1], 6)
    made = dict(zip(world.catalogue.post_id.tolist(), world.catalogue.created_at.tolist(), strict=True))
    # When they open Explore, with exploration slots and without
    page = explore.page(viewer, world.now).items
    plain = Explore(trained[0], replace(explore.config, explore_every=0)).page(viewer, world.now).items
    # Then each tenth pick is a new post, and the page holds more of them than without the slots
    new = [made[pick.post_id] >= world.now - 6 * 3600 for pick in page]
    assert all(new[9::10])
    assert sum(new) > sum(made[pick.post_id] >= world.now - 6 * 3600 for pick in plain)


def test_the_sessions_engagements_turn_the_two_tower_query_toward_them(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given a user who, since opening the app, engaged with three posts of one creator
    model, viewer = trained[0], _viewer(world, trained[1], 7)
    assert model.towers is not None
    creator = world.catalogue.author_id[0]
    theirs = tuple(world.catalogue.post_id[world.catalogue.author_id == creator][:3].tolist())
    session = model.towers.fold(model.catalogue, model.catalogue.find(np.array(theirs)))
    assert session is not None
    # When Explore makes the user's two-tower query, with that session and without
    leaning = explore._tower_vector(replace(viewer, context=Context(session_posts=theirs)))
    alone = explore._tower_vector(viewer)
    assert leaning is not None
    assert alone is not None
    # Then the session's query is a unit vector closer to what they engaged with
    assert np.linalg.norm(leaning) == pytest.approx(1.0)
    assert float(leaning @ session) > float(alone @ session) + 0.05


def test_a_sessions_state_counts_only_its_own_earlier_engagements() -> None:
    # Given one user's two sessions an hour and a half apart, and another user's like in between
    log = InteractionLog(
        user_id=np.array(["u_a", "u_a", "u_a", "u_b", "u_a", "u_a"]),
        post_id=np.array(["p0", "p1", "p0", "p1", "p2", "p3"]),
        action=np.array([Action.VIEW, Action.LIKE, Action.SAVE, Action.LIKE, Action.VIEW, Action.LIKE]),
        watch_seconds=np.zeros(6),
        at=np.array([0.0, 10.0, 20.0, 30.0, 5400.0, 5410.0]),
        network=np.array(
            [NETWORK_FAST, NETWORK_FAST, NETWORK_FAST, NETWORK_SLOW, NETWORK_SLOW, NETWORK_SLOW]
        ),
    )
    vectors = np.eye(4, dtype=np.float32)
    # When each action's state is taken just before it
    state = session_states(log, np.array([0, 1, 0, 1, 2, 3]), vectors, np.arange(6))
    # Then it counts the engagements before it in its own session, and their mean direction
    assert state.engagements.tolist() == [0, 0, 1, 0, 0, 0]
    assert state.vector[2].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert state.network.tolist() == [1, 1, 1, 2, 2, 2]
    # And the second session is 1.5 hours after the first began; a first session says -1
    assert state.hours_away.tolist() == [-1.0, -1.0, -1.0, -1.0, 1.5, 1.5]


def test_a_failing_ranking_model_falls_back_to_the_linear_model_then_to_trending(
    world: World, trained: tuple[ExploreModel, UserFeatures], monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer = _viewer(world, trained[1], 2)
    explore = Explore(trained[0], unhurried(page_size=40))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("model server unavailable")

    # When the LightGBM models fail
    monkeypatch.setattr(trained[0].rankers["like"], "predict", broken)
    simpler = explore.page(viewer, world.now)
    # Then the linear model ranks, and the page says so
    assert simpler.fallbacks == ["simpler_model"]
    assert len(simpler.items) == 40
    # When the linear model fails too
    monkeypatch.setattr(type(trained[0].fallback), "engagement", broken)
    cached = explore.page(viewer, world.now)
    # Then the trending order ranks
    assert cached.fallbacks == ["simpler_model", "cached_ranking"]
    assert len(cached.items) == 40


def test_the_trees_rank_only_the_linear_models_shortlist_and_the_page_stays_full(
    world: World, trained: tuple[ExploreModel, UserFeatures], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a shortlist of 150 for the value model, and a count of the rows the trees score
    model = trained[0]
    explore = Explore(model, unhurried(page_size=40, ranked_size=120, community_size=400, rerank_size=150))
    scored: list[int] = []
    predict = model.rankers["like"].predict

    def counted(rows: Any, **kwargs: Any) -> Any:
        scored.append(len(rows))
        return predict(rows, **kwargs)

    monkeypatch.setattr(model.rankers["like"], "predict", counted)
    # When a known user opens Explore
    page = explore.page(_viewer(world, trained[1]), world.now)
    # Then the trees scored the shortlist (150, plus up to 50 reserved for each of the 3 kinds), not
    # every candidate, and the page is still full with no fallback
    assert page.candidates > 400
    assert len(scored) == 1
    assert 150 <= scored[0] <= 150 + 3 * 50
    assert len(page.items) == 40
    assert page.fallbacks == []


@pytest.mark.parametrize(
    ("slow", "fallback"),
    [("ranking", "ranking_over_budget"), ("retrieval", "retrieval_over_budget")],
)
def test_a_stage_past_its_budget_is_cut_and_the_page_still_arrives_in_time(
    world: World,
    trained: tuple[ExploreModel, UserFeatures],
    monkeypatch: pytest.MonkeyPatch,
    slow: str,
    fallback: str,
) -> None:
    # Given the seed's budgets (retrieval 50 ms, ranking 200 ms) and one stage that takes 5 s
    model = trained[0]
    explore = Explore(model, ExploreConfig(page_size=40))
    viewer = _viewer(world, trained[1], 3)
    explore.page(viewer, world.now)  # warm

    def stalled(real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            time.sleep(5)
            return real(*args, **kwargs)

        return call

    target = model.rankers["like"] if slow == "ranking" else model.tower_index
    attribute = "predict" if slow == "ranking" else "search"
    monkeypatch.setattr(target, attribute, stalled(getattr(target, attribute)))
    # When the page is asked for
    started = time.monotonic()
    page = explore.page(viewer, world.now)
    # Then it arrives in about the budgets, not the stage's 5 s, full, and says which stage overran
    assert time.monotonic() - started < 2.0
    assert page.fallbacks == [fallback]
    assert len(page.items) == 40
    sources = {item.source for item in page.items}
    assert ("interest" in sources) is (slow == "ranking")


def test_the_artefact_round_trips_to_the_same_page(
    world: World, trained: tuple[ExploreModel, UserFeatures], explore: Explore
) -> None:
    # Given the model written out and read back, as the batch and the function do
    loaded = Explore(ExploreModel.from_bytes(trained[0].to_bytes()), explore.config)
    viewer = _viewer(world, trained[1], 4)
    # Then both serve the same page
    assert loaded.page(viewer, world.now).items == explore.page(viewer, world.now).items


def test_trending_ignores_actions_stamped_in_the_future(world: World) -> None:
    # Given a post liked a thousand times "tomorrow" by a client with a wrong clock
    post = str(world.catalogue.post_id[-1])
    future = InteractionLog(
        user_id=np.array(["u_skewed"] * 1000),
        post_id=np.array([post] * 1000),
        action=np.full(1000, Action.LIKE),
        watch_seconds=np.zeros(1000),
        at=np.full(1000, world.now + DAY),
    )
    # When trending is computed now
    stats = post_stats(world.catalogue, future, positions(world.catalogue, future), world.now, 3600.0)
    # Then those likes count for nothing
    assert stats.trending.sum() == 0.0


@pytest.fixture(scope="module")
def yesterdays(world: World) -> ExploreModel:
    """The model of a batch a day before the world's end: the last day's posts and log are new to it."""
    cut = world.now - DAY
    earlier = world.catalogue.where(world.catalogue.created_at < cut)
    return train(earlier, world.interactions.before(cut), cut, "v-yesterday", TRAINING)[0]


def _refresh(world: World, model: ExploreModel, now: float) -> ModelRefresh:
    made = world.catalogue.where(world.catalogue.created_at < now)
    return build_refresh(
        model, made.where(made.created_at >= model.built_at - DAY), world.interactions, now, TRAINING
    )


def test_a_refresh_counts_the_day_since_the_batch_as_one_batch_over_both_would(
    world: World, yesterdays: ExploreModel
) -> None:
    # Given yesterday's model and a day of new posts and actions
    # When the refresh counts them, and serving lays the stored refresh over the model
    refresh = ModelRefresh.from_bytes(_refresh(world, yesterdays, world.now).to_bytes())
    served = yesterdays.refreshed(refresh)
    # Then every post of the day is appended, and no earlier post moved
    made = world.catalogue.created_at < world.now
    assert len(served.catalogue) == int(made.sum())
    assert np.array_equal(served.catalogue.post_id[: len(yesterdays.catalogue)], yesterdays.catalogue.post_id)
    # And the statistics are a batch's over both days: counts exactly, smoothed rates but for the
    # catalogue mean they are smoothed toward (yesterday's, not today's)
    log = world.interactions.before(world.now)
    batch = post_stats(
        served.catalogue, log, positions(served.catalogue, log), world.now, TRAINING.trending_half_life
    )
    assert np.array_equal(served.stats.views, batch.views)
    assert np.allclose(served.stats.trending, batch.trending, rtol=1e-9)
    assert np.allclose(served.stats.author_reach, batch.author_reach, rtol=1e-9)
    assert np.abs(served.stats.rates - batch.rates).max() < 0.01
    assert np.abs(served.stats.quality - batch.quality).max() < 0.01
    # And trending is ranked again over today's posts
    assert (
        served.trending.tolist()
        == trending_list(
            served.catalogue, served.stats.trending, world.now, TRAINING.eligible_age, TRAINING.trending_size
        ).tolist()
    )
    assert served.version == f"v-yesterday+{int(world.now)}"


def test_a_post_made_after_the_batch_is_retrievable_and_rankable_after_the_refresh(
    world: World, yesterdays: ExploreModel
) -> None:
    # Given the last post of the world, made after yesterday's batch by a creator it learned
    served = yesterdays.refreshed(_refresh(world, yesterdays, world.now))
    post = int(np.flatnonzero(served.catalogue.verdict == "approved")[-1])
    assert post >= len(yesterdays.catalogue)
    assert served.towers is not None
    assert served.tower_index is not None
    # When a viewer whose taste is that post's asks for the two-tower index's nearest posts
    taste = served.towers.post_vectors(served.catalogue, world.now, np.array([post]))[0, :-1]
    explore = Explore(served, unhurried())
    nearest = explore._nearest(served.tower_index, served.towers.query(taste))
    # Then the new post is among them, passes every filter, and clears the quality floor
    assert post in nearest.tolist()
    viewer = Viewer(user_id="u_someone", tower=taste.astype(np.float64))
    assert explore.may_show(viewer, np.array([post]), world.now).all()
    assert served.stats.quality[post] >= explore.quality_floor


def test_a_post_moderation_approves_after_the_batch_is_retrievable_after_the_refresh(
    world: World, yesterdays: ExploreModel
) -> None:
    # Given a post the batch saw pending, which moderation approved since
    pending = int(np.flatnonzero(yesterdays.catalogue.verdict == "pending")[-1])
    approved = yesterdays.catalogue.where(np.arange(len(yesterdays.catalogue)) == pending)
    approved = replace(approved, verdict=np.array(["approved"]))
    no_log = world.interactions.where(np.zeros(len(world.interactions), dtype=bool))
    # When the refresh reads it again
    served = yesterdays.refreshed(
        build_refresh(yesterdays, approved, no_log, yesterdays.built_at + 600, TRAINING)
    )
    # Then it may be shown, and the fresh index holds it
    assert served.catalogue.verdict[pending] == "approved"
    assert served.fresh_index is not None
    assert served.fresh_index.ntotal == 1
    assert len(served.catalogue) == len(yesterdays.catalogue)


def test_a_refresh_of_another_model_is_refused(
    world: World, yesterdays: ExploreModel, trained: tuple[ExploreModel, UserFeatures]
) -> None:
    refresh = _refresh(world, yesterdays, world.now)
    with pytest.raises(ValueError, match="refresh of v-yesterday cannot apply to model v-test"):
        trained[0].refreshed(refresh)


def test_the_index_probes_enough_lists_to_find_95_percent_of_the_exact_neighbours(
    trained: tuple[ExploreModel, UserFeatures],
) -> None:
    # Given the served index and an exact search over the same vectors
    model, users = trained
    vectors, indexed = model.post_vectors.astype(np.float32), model.indexed()
    exact = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    exact.add_with_ids(vectors[indexed], indexed)
    # When both look for each of 50 users' 400 nearest posts
    queries, k = users.vector[-50:], 400
    found, truth = model.index.search(queries, k)[1], exact.search(queries, k)[1]
    # Then the index finds at least 95% of them, with the probes it was saved with
    recall = np.mean([len(np.intersect1d(f, t)) / k for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
    reloaded = ExploreModel.from_bytes(model.to_bytes()).index
    assert faiss.extract_index_ivf(reloaded).nprobe == faiss.extract_index_ivf(model.index).nprobe > 1


def test_a_young_service_with_minutes_of_log_still_trains_a_model_that_serves_personal_pages() -> None:
    # Given a service on its first day: posts from the last hour, every action within ten minutes
    world = generate(replace(SMALL, users=120, posts=400, sessions_per_user=3.0, follows_per_user=3, seed=11))
    now = world.now
    log = world.interactions
    minutes = now - 600 + 600 * (log.at - log.at.min()) / (log.at.max() - log.at.min())
    young = InteractionLog(
        log.user_id, log.post_id, log.action, log.watch_seconds, np.minimum(minutes, now - 1)
    )
    catalogue = replace(world.catalogue, created_at=np.full(len(world.catalogue), now - 3600))

    # When the daily batch trains on it
    model, users, training_set = train(catalogue, young, now, "v-young", TRAINING)

    # Then the rankers learned from rows, and a known user gets a page from personal sources
    assert len(training_set.rows) > 0
    page = Explore(model, unhurried(page_size=20)).page(_viewer(world, users), now)
    assert (len(page.items), page.fallbacks) == (20, [])
    assert {"interest", "community"} & {pick.source for pick in page.items}


def test_following_another_stack_forgets_the_served_model_and_feature_copies(
    trained: tuple[ExploreModel, UserFeatures],
) -> None:
    # Given the API's caches holding one stack's model, an explorer for it and a viewer's copy
    from aperture.core.tables import rebind
    from aperture.explore import service

    service._models._model = trained[0]
    service._explorers[trained[0].version] = Explore(trained[0], unhurried())
    service._features._last["u_1"] = Viewer(user_id="u_1", following=frozenset())

    # When the process follows the environment to another stack (the local stack, test modules)
    rebind()

    # Then nothing of the first stack answers for the next
    assert service._models._model is None
    assert (service._explorers, dict(service._features._last)) == ({}, {})
