"""Explore's ranking quality: NDCG@50 and recall@200 on held-out simulated interactions.

Yardsticks in the same run: a popularity ranking (decayed engagement, the trending score) and a
random ranking of the same eligible posts. Models are trained on the log before a cut-off two days
before the world's end; see ``simulator/evaluation.py`` for what counts as relevant.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from simulator.evaluation import RETRIEVAL_SVD, RETRIEVAL_TWO_TOWER, evaluate
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
    rows = [
        {
            "ranker": s.ranker,
            "NDCG@50": f"{s.ndcg_at_50:.4f}",
            "recall@200": f"{s.recall_at_200:.4f}",
            "users": s.users,
        }
        for s in scores
    ]
    by_name = {s.ranker: s for s in scores}
    best, popular, random_ = by_name["explore (two-stage)"], by_name["popularity"], by_name["random"]
    two_tower, svd = by_name[RETRIEVAL_TWO_TOWER], by_name[RETRIEVAL_SVD]
    headline = {
        "ndcg_at_50": round(best.ndcg_at_50, 5),
        "recall_at_200": round(best.recall_at_200, 5),
        "retrieval_recall_at_200_two_tower": round(two_tower.recall_at_200, 5),
        "retrieval_recall_at_200_svd": round(svd.recall_at_200, 5),
    }
    summary = (
        f"Held-out: the last 2 days of a {SPEC.days:.0f}-day world; relevant = posts a user engaged with "
        f"then that existed at the cut-off. Explore vs popularity: NDCG@50 "
        f"x{best.ndcg_at_50 / popular.ndcg_at_50:.2f}, "
        f"recall@200 x{best.recall_at_200 / popular.recall_at_200:.2f}; "
        f"vs random: NDCG@50 x{best.ndcg_at_50 / random_.ndcg_at_50:.2f}, "
        f"recall@200 x{best.recall_at_200 / random_.recall_at_200:.2f}. Retrieval alone (each index's "
        f"200 nearest showable posts): two-tower recall@200 {two_tower.recall_at_200:.4f}, SVD "
        f"{svd.recall_at_200:.4f} (x{two_tower.recall_at_200 / max(svd.recall_at_200, 1e-12):.2f})."
    )
    path = report.write(
        "explore_quality",
        summary,
        rows,
        {**asdict(SPEC), "evaluated_users": USERS},
        headline=headline,
    )
    print(path.read_text())
