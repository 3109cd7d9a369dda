"""Explore's ranking quality: NDCG@50 and recall@200 on held-out simulated interactions.

Yardsticks in the same run: a popularity ranking (decayed engagement, the trending score) and a
random ranking of the same eligible posts. Models are trained on the posts and the log before a
cut-off two days before the world's end; see ``simulator/evaluation.py`` for what counts as relevant.
Freshness: the day after the cut-off replayed with the ten-minute refresh (``evaluation.freshness``);
the yardstick is the daily batch alone, which cannot show a post made after it before the next.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from simulator.evaluation import (
    RETRIEVAL_SVD,
    RETRIEVAL_TWO_TOWER,
    WITH_CONTEXT,
    WITHOUT_CONTEXT,
    evaluate,
    evaluate_context,
    freshness,
)
from simulator.world import WorldSpec, generate

from . import report

SPEC = WorldSpec()
USERS = 600


def run() -> None:
    started = time.perf_counter()
    print(f"  simulating {SPEC.users:,} users and {SPEC.posts:,} posts", flush=True)
    world = generate(SPEC)
    print(f"  training and evaluating {USERS} users ({time.perf_counter() - started:.0f} s)", flush=True)
    scores = evaluate(world, max_users=USERS)
    print(f"  in-session pages, with and without context ({time.perf_counter() - started:.0f} s)", flush=True)
    in_session = {s.ranker: s for s in evaluate_context(world, max_users=USERS)}
    with_context, without_context = in_session[WITH_CONTEXT], in_session[WITHOUT_CONTEXT]
    print(
        f"  a day after the batch, refreshed every 10 minutes ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    fresh = freshness(world)
    rows = [
        {
            "ranker": s.ranker,
            "NDCG@50": f"{s.ndcg_at_50:.4f}",
            "recall@200": f"{s.recall_at_200:.4f}",
            "users": s.users,
        }
        for s in [*scores, with_context, without_context]
    ]
    by_name = {s.ranker: s for s in scores}
    best, popular, random_ = by_name["explore (two-stage)"], by_name["popularity"], by_name["random"]
    two_tower, svd = by_name[RETRIEVAL_TWO_TOWER], by_name[RETRIEVAL_SVD]
    headline = {
        "ndcg_at_50": round(best.ndcg_at_50, 5),
        "recall_at_200": round(best.recall_at_200, 5),
        "retrieval_recall_at_200_two_tower": round(two_tower.recall_at_200, 5),
        "retrieval_recall_at_200_svd": round(svd.recall_at_200, 5),
        "session_ndcg_at_50_with_context": round(with_context.ndcg_at_50, 5),
        "session_ndcg_at_50_without_context": round(without_context.ndcg_at_50, 5),
        "session_recall_at_200_with_context": round(with_context.recall_at_200, 5),
        "session_recall_at_200_without_context": round(without_context.recall_at_200, 5),
        "fresh_post_minutes_to_first_impression": fresh.minutes_to_first_impression,
        "fresh_post_minutes_to_first_impression_p75": fresh.p75_minutes_to_first_impression,
        "fresh_post_minutes_to_next_batch": round(fresh.minutes_to_next_batch, 1),
        "fresh_posts": fresh.posts,
        "fresh_posts_shown": fresh.shown,
        "fresh_posts_shown_before_engagement": fresh.shown_before_engagement,
        "fresh_posts_shown_within_15_minutes": fresh.shown_within_15_minutes,
        "fresh_post_minutes_from_creation": fresh.minutes_from_creation_to_first_impression,
    }
    summary = (
        f"Held-out: the last 2 days of a {SPEC.days:.0f}-day world; relevant = posts a user engaged with "
        f"then that existed at the cut-off. Explore vs popularity: NDCG@50 "
        f"x{best.ndcg_at_50 / popular.ndcg_at_50:.2f}, "
        f"recall@200 x{best.recall_at_200 / popular.recall_at_200:.2f}; "
        f"vs random: NDCG@50 x{best.ndcg_at_50 / random_.ndcg_at_50:.2f}, "
        f"recall@200 x{best.recall_at_200 / random_.recall_at_200:.2f}. Retrieval alone (each index's "
        f"200 nearest showable posts): two-tower recall@200 {two_tower.recall_at_200:.4f}, SVD "
        f"{svd.recall_at_200:.4f} (x{two_tower.recall_at_200 / max(svd.recall_at_200, 1e-12):.2f}). "
        f"In a session, right after its first engagement ({with_context.users} users' first such "
        f"session after the cut-off; relevant = the rest of the session's engagements): with the request's "
        f"context (network, that engagement, hours since the last open) NDCG@50 "
        f"{with_context.ndcg_at_50:.4f}, "
        f"without it {without_context.ndcg_at_50:.4f} "
        f"(x{with_context.ndcg_at_50 / max(without_context.ndcg_at_50, 1e-12):.2f}). "
        f"Freshness, the day after the batch ({fresh.pages:,} Explore pages, refreshed every 10 minutes, "
        f"each refresh served 5 minutes later): of {fresh.posts} posts made and engaged with that day, "
        f"{fresh.shown} were shown ({fresh.shown_before_engagement} before their first engagement, "
        f"{fresh.shown_within_15_minutes} within 15 minutes of it); median minutes from first engagement to "
        f"first impression {fresh.minutes_to_first_impression}, p75 {fresh.p75_minutes_to_first_impression} "
        f"(None: not shown that day); the daily batch alone could show none before the next batch, a median "
        f"{fresh.minutes_to_next_batch:.0f} minutes after their first engagement."
    )
    path = report.write(
        "explore_quality",
        summary,
        rows,
        {**asdict(SPEC), "evaluated_users": USERS},
        headline=headline,
    )
    print(path.read_text())
