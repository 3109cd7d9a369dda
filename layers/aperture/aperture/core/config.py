"""Settings read from the function's environment, which ``template.yaml`` declares."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set (see template.yaml)")
    return value


@dataclass(frozen=True)
class Settings:
    story_lifetime_seconds: int
    celebrity_follower_threshold: int
    dormant_after_days: float
    explore_feature_deadline_s: float
    explore_retrieval_budget_ms: float
    explore_ranking_budget_ms: float
    comments_per_minute: int
    account_deletion_grace_seconds: int
    app_origin: str  # the web client's origin, allowed to call the API from a browser; "" for none

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            story_lifetime_seconds=int(os.environ.get("STORY_LIFETIME_SECONDS", "86400")),
            celebrity_follower_threshold=int(os.environ.get("CELEBRITY_FOLLOWER_THRESHOLD", "100000")),
            dormant_after_days=float(os.environ.get("DORMANT_AFTER_DAYS", "30")),
            explore_feature_deadline_s=float(os.environ.get("EXPLORE_FEATURE_DEADLINE_MS", "80")) / 1000,
            explore_retrieval_budget_ms=float(os.environ.get("EXPLORE_RETRIEVAL_BUDGET_MS", "50")),
            explore_ranking_budget_ms=float(os.environ.get("EXPLORE_RANKING_BUDGET_MS", "200")),
            comments_per_minute=int(os.environ.get("COMMENTS_PER_MINUTE", "20")),
            account_deletion_grace_seconds=int(os.environ.get("ACCOUNT_DELETION_GRACE_SECONDS", "2592000")),
            app_origin=os.environ.get("APP_ORIGIN", ""),
        )


@cache
def settings() -> Settings:
    return Settings.from_environment()


def resource_name(env_var: str) -> str:
    """The physical name or URL of a resource the template passed in ``env_var``."""
    return _required(env_var)
