"""Explore pages: the latest model, the viewer's online features, and the pipeline."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from aperture.core import clock
from aperture.core.config import settings
from aperture.core.errors import BadRequest
from aperture.core.tables import forget_on_rebind
from aperture.explore import safety
from aperture.explore.catalogue import NETWORK_UNKNOWN, NETWORKS
from aperture.explore.features import Context, Viewer
from aperture.explore.model import ExploreModel, ModelRefresh
from aperture.explore.offline import DAY, LATEST, REFRESHED, read_object, read_pointer
from aperture.explore.pipeline import Explore, ExploreConfig
from aperture.explore.realtime import Network
from aperture.explore.store import OnlineFeatures, record_open
from aperture.feed.home import followed_authors
from aperture.media.records import shown_media
from aperture.social.posts import PUBLISHED, media_items, posts_by_id


class ModelCache:
    """The serving copy of the latest model, with the latest refresh laid over it: loaded at first
    use, then re-checked every few minutes."""

    def __init__(self, recheck_seconds: float = 300.0) -> None:
        self.recheck_seconds = recheck_seconds
        self._base: ExploreModel | None = None  # the daily batch's model, as stored
        self._model: ExploreModel | None = None  # the one served: the base, refreshed
        self._checked_at = -float("inf")
        self._lock = threading.Lock()

    def get(self) -> ExploreModel | None:
        # Until a first model exists (a new deployment) every request looks for one and waits for
        # it; after that one request reloads while the others keep serving the current model.
        if self._due() and self._lock.acquire(blocking=self._model is None):
            try:
                if self._due():
                    self._checked_at = clock.now()
                    self._base = self._latest_base()
                    self._model = self._refreshed()
            finally:
                self._lock.release()
        return self._model

    def clear(self) -> None:
        with self._lock:
            self._base, self._model, self._checked_at = None, None, -float("inf")

    def _due(self) -> bool:
        # By the service's clock, so that a test moves it; set back (a swapped clock) it re-checks too
        return self._model is None or abs(clock.now() - self._checked_at) >= self.recheck_seconds

    def _latest_base(self) -> ExploreModel | None:
        pointer = read_pointer(LATEST)
        if pointer is None or (self._base is not None and self._base.version == pointer["version"]):
            return self._base  # no batch has run yet, or the one loaded is still the latest
        return ExploreModel.from_bytes(read_object(pointer["key"]))

    def _refreshed(self) -> ExploreModel | None:
        base, pointer = self._base, read_pointer(REFRESHED)
        if base is None or pointer is None or pointer["base"] != base.version:
            return base  # no refresh of this model yet
        if self._model is not None and self._model.version == pointer["version"]:
            return self._model
        try:
            return base.refreshed(ModelRefresh.from_bytes(read_object(pointer["key"])))
        except Exception as error:  # unreadable, or not this model's: the day's model serves on
            log.error(
                "explore refresh not applied", extra={"refresh": pointer.get("key"), "error": repr(error)}
            )
            return base


log = logging.getLogger(__name__)
CLOCK_SKEW = 300.0  # a client's clock may run this far ahead of ours
_models = ModelCache()
_features = OnlineFeatures()
_explorers: dict[str, Explore] = {}
_lock = threading.Lock()


def _forget_stack() -> None:
    _models.clear()
    _features.forget()
    with _lock:
        _explorers.clear()


forget_on_rebind(_forget_stack)


class PageContext(BaseModel):
    """What a client may say of the moment it asks for a page: all optional."""

    model_config = {"extra": "forbid"}

    session_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")
    network: Network | None = None
    opened_at: float | None = Field(default=None, allow_inf_nan=False)

    @classmethod
    def from_query(cls, query: dict[str, str]) -> PageContext:
        try:
            context = cls.model_validate(query)
        except ValidationError as error:
            first = error.errors()[0]
            raise BadRequest(f"{'.'.join(map(str, first['loc'])) or 'query'}: {first['msg']}") from error
        now = clock.now()
        if context.opened_at is not None and not now - DAY <= context.opened_at <= now + CLOCK_SKEW:
            raise BadRequest("opened_at: the epoch seconds the app was opened, within the last day")
        return context


def _context(user_id: str, asked: PageContext, viewer: Viewer) -> Context:
    """The request's real-time features: the network, the engagements since the app opened (of the
    actions the stream has already recorded), and the hours since the open before. An open known
    only by its session id began when its first page was asked."""
    opened, away = None, None
    if asked.session_id is not None or asked.opened_at is not None:
        opened_at = asked.opened_at if asked.opened_at is not None else clock.now()
        opened, away = record_open(
            user_id, viewer.last_open, asked.session_id or f"open-{opened_at}", opened_at
        )
    return Context(
        network=NETWORKS.get(asked.network or "", NETWORK_UNKNOWN),
        session_posts=tuple(post for post, at in viewer.engaged if opened is not None and at >= opened),
        hours_away=away,
    )


def explore_page(user_id: str, asked: PageContext | None = None) -> dict[str, Any]:
    model = _models.get()
    if model is None:
        return {"items": [], "fallbacks": ["no_model"], "model_version": None}
    with _lock:
        explorer = _explorers.get(model.version)
        if explorer is None:
            _explorers.clear()
            budgets = settings()
            config = ExploreConfig(
                retrieval_budget_ms=budgets.explore_retrieval_budget_ms,
                ranking_budget_ms=budgets.explore_ranking_budget_ms,
            )
            explorer = _explorers[model.version] = Explore(model, config)
    viewer, stale = _features.viewer(user_id, frozenset(followed_authors(user_id)))
    viewer = replace(
        viewer, unsafe=safety.unsafe_posts(), context=_context(user_id, asked or PageContext(), viewer)
    )
    page = explorer.page(viewer, clock.now())
    # One BatchGet: each post's media as it is now, and a post deleted since the batch never shown;
    # a second for each cover's renditions, so a client draws the page without a call per post.
    posts = posts_by_id(pick.post_id for pick in page.items)
    shown = [pick for pick in page.items if posts.get(pick.post_id, {}).get("state") == PUBLISHED]
    items = {pick.post_id: media_items(posts[pick.post_id]) for pick in shown}
    covers = shown_media(listed[0]["media_id"] for listed in items.values() if listed)
    return {
        "items": [
            {
                "post_id": pick.post_id,
                "author_id": pick.author_id,
                "kind": pick.kind,
                "media_items": items[pick.post_id],
                "media": covers.get(items[pick.post_id][0]["media_id"]) if items[pick.post_id] else None,
                "reason": {"source": pick.source, "score": pick.score},
            }
            for pick in shown
        ],
        "fallbacks": [*page.fallbacks, *(["stale_features"] if stale else [])],
        "model_version": page.model_version,
    }
