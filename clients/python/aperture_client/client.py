"""The Aperture API from Python: one typed method per route, named after its OpenAPI operationId.

    api = Aperture("http://127.0.0.1:8000", token)
    media = api.upload(Path("cat.jpg").read_bytes(), "image/jpeg", on_progress=print)
    post = api.create_post(media.media_id, caption="hello")

Methods return the generated models (``aperture_client.models``) and raise ``ApiError`` for any
answer of 400 or more. A create's idempotency key is generated once per call and resent on each
of its retries, so a lost response never makes two posts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel
from urllib3.util import Retry

from aperture_client import models
from aperture_client.transport import ApiError, Response, Transport

Model = TypeVar("Model", bound=BaseModel)
Progress = Callable[[str, Mapping[str, Any]], None]
FINISHED = ("ready", "failed", "expired")


class UploadFailed(Exception):
    """The media reached a terminal state other than ready."""

    def __init__(self, media: models.Media) -> None:
        self.media = media
        super().__init__(f"media {media.media_id} ended {media.state}: {media.failure}")


class Aperture:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        retries: Retry | bool = True,
        timeout: float = 30.0,
        transport: Transport | None = None,
    ) -> None:
        self.transport = transport or Transport(base_url, retries=retries, timeout=timeout)
        self.token = token

    def as_user(self, token: str) -> Aperture:
        """The same API and connection pool, calling as another user."""
        return Aperture(self.transport.base_url, token, transport=self.transport)

    # ----------------------------------------------------------------------------- service
    def health(self) -> models.Health:
        return self._call("GET", "/health", models.Health)

    def openapi(self) -> dict[str, Any]:
        return dict(self._call("GET", "/openapi.json", models.OpenApiDocument).model_dump())

    def super_resolution_model(self) -> models.SrModel:
        return self._call("GET", "/models/sr/latest", models.SrModel)

    def dev_token(
        self, user_id: str, *, lifetime_seconds: int = 3600, moderator: bool = False
    ) -> models.DevToken:
        """A token from the local stack's development login (Cognito signs them in AWS)."""
        login = models.DevLogin(
            user_id=user_id, lifetime_seconds=lifetime_seconds, groups=["moderators"] if moderator else []
        )
        return self._call("POST", "/auth/token", models.DevToken, login)

    # ----------------------------------------------------------------------------- people
    def create_user(
        self,
        username: str,
        *,
        display_name: str = "",
        bio: str = "",
        archive_stories: bool = True,
        idempotency_key: str | None = None,
    ) -> models.Profile:
        profile = models.NewProfile(
            username=username, display_name=display_name, bio=bio, archive_stories=archive_stories
        )
        return self._create("/users", models.Profile, profile, idempotency_key)

    def get_user(self, user_id: str) -> models.Profile:
        return self._call("GET", f"/users/{user_id}", models.Profile)

    def update_user(
        self,
        user_id: str,
        *,
        username: str | None = None,
        display_name: str | None = None,
        bio: str | None = None,
        archive_stories: bool | None = None,
    ) -> models.Profile:
        changes = models.ProfileChanges.model_validate(
            {
                "username": username,
                "display_name": display_name,
                "bio": bio,
                "archive_stories": archive_stories,
            }
        )
        return self._call("PATCH", f"/users/{user_id}", models.Profile, changes)

    def delete_user(self, user_id: str) -> models.AccountDeletionScheduled:
        """Schedule the account's deletion; signing in before ``deletes_at`` cancels it."""
        return self._call("DELETE", f"/users/{user_id}", models.AccountDeletionScheduled)

    def export_account(self, user_id: str, *, idempotency_key: str | None = None) -> models.AccountExport:
        """Start an export of the caller's data; poll ``get_export`` until it is ready."""
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        return self._call("POST", f"/users/{user_id}/exports", models.AccountExport, headers=headers)

    def get_export(self, user_id: str, export_id: str) -> models.AccountExport:
        return self._call("GET", f"/users/{user_id}/exports/{export_id}", models.AccountExport)

    def set_follow(
        self, user_id: str, followee_id: str, following: bool, *, client_timestamp: int | None = None
    ) -> models.FollowState:
        """Follow or unfollow; the latest ``client_timestamp`` (epoch ms, now when absent) wins."""
        tapped = client_timestamp if client_timestamp is not None else int(time.time() * 1000)
        request = models.FollowRequest(following=following, client_timestamp=tapped)
        return self._call("PUT", f"/users/{user_id}/following/{followee_id}", models.FollowState, request)

    def list_followers(
        self, user_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> models.UserPage:
        return self._call("GET", f"/users/{user_id}/followers", models.UserPage, query=_page(limit, cursor))

    def list_following(
        self, user_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> models.UserPage:
        return self._call("GET", f"/users/{user_id}/following", models.UserPage, query=_page(limit, cursor))

    def block_user(self, user_id: str, blocked_id: str) -> models.BlockState:
        return self._call("PUT", f"/users/{user_id}/blocks/{blocked_id}", models.BlockState)

    def unblock_user(self, user_id: str, blocked_id: str) -> models.BlockState:
        return self._call("DELETE", f"/users/{user_id}/blocks/{blocked_id}", models.BlockState)

    def list_notifications(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> models.NotificationPage:
        return self._call("GET", "/notifications", models.NotificationPage, query=_page(limit, cursor))

    # ----------------------------------------------------------------------------- media
    def create_upload(
        self,
        content_type: str,
        size: int,
        *,
        filter: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.UploadStarted:
        intent = models.UploadIntent.model_validate(
            {"content_type": content_type, "size": size, "filter": filter}
        )
        return self._create("/uploads", models.UploadStarted, intent, idempotency_key)

    def get_media(self, media_id: str) -> models.Media:
        return self._call("GET", f"/media/{media_id}", models.Media)

    def upload(
        self,
        data: bytes,
        content_type: str,
        *,
        filter: str | None = None,
        on_progress: Progress | None = None,
        timeout: float = 120.0,
    ) -> models.Media:
        """Upload as an app does: the intent, the file straight to S3, then wait until it is ready."""
        report = on_progress or (lambda stage, detail: None)
        started = self.create_upload(content_type, len(data), filter=filter)
        report("uploading", {"media_id": started.media_id, "bytes": len(data)})
        self.transport.post_form(started.upload.url, started.upload.fields, data, filename="upload")
        report("uploaded", {"media_id": started.media_id})
        return self.wait_for_media(started.media_id, on_progress=report, timeout=timeout)

    def wait_for_media(
        self, media_id: str, *, on_progress: Progress | None = None, timeout: float = 120.0
    ) -> models.Media:
        """Poll until the media is ready; ``UploadFailed`` when it fails or expires instead."""
        media = _poll(lambda: self.get_media(media_id), FINISHED, on_progress, timeout)
        if media.state != "ready":
            raise UploadFailed(media)
        return media

    # ----------------------------------------------------------------------------- posts
    def create_post(
        self,
        media_id: str | None = None,
        *,
        caption: str = "",
        media: list[models.MediaItem] | None = None,
        idempotency_key: str | None = None,
    ) -> models.Post:
        """A post of one media item (``media_id``), a carousel of 1 to 10 with alt text
        (``media``), or none."""
        post = models.NewPost(media_id=media_id, caption=caption, media=media)
        return self._create("/posts", models.Post, post, idempotency_key)

    def get_post(self, post_id: str) -> models.Post:
        return self._call("GET", f"/posts/{post_id}", models.Post)

    def wait_for_post(self, post_id: str, *, timeout: float = 60.0) -> models.Post:
        """The caller's post once published: when moderation has cleared its media."""
        return _poll(lambda: self.get_post(post_id), ("published",), None, timeout)

    def delete_post(self, post_id: str) -> models.PostDeleted:
        return self._call("DELETE", f"/posts/{post_id}", models.PostDeleted)

    def list_posts(
        self, user_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> models.GridPage:
        return self._call("GET", f"/users/{user_id}/posts", models.GridPage, query=_page(limit, cursor))

    def like_post(self, post_id: str) -> models.LikeState:
        return self._call("PUT", f"/posts/{post_id}/like", models.LikeState)

    def unlike_post(self, post_id: str) -> models.LikeState:
        return self._call("DELETE", f"/posts/{post_id}/like", models.LikeState)

    def record_interaction(
        self,
        post_id: str,
        action: Literal["view", "comment", "share", "save", "report"],
        *,
        watch_seconds: float = 0.0,
        event_id: str | None = None,
    ) -> models.Interaction:
        """One action on a post; its ``event_id`` (generated when absent) makes retries count once."""
        event = models.NewInteraction(
            event_id=event_id or uuid.uuid4().hex, action=action, watch_seconds=watch_seconds
        )
        return self._call("POST", f"/posts/{post_id}/interactions", models.Interaction, event)

    # ----------------------------------------------------------------------------- comments
    def create_comment(
        self, post_id: str, text: str, *, reply_to: str | None = None, idempotency_key: str | None = None
    ) -> models.Comment:
        """A comment on a post, or a reply to one of its comments; a 429 is retried after its wait."""
        comment = models.NewComment(text=text, reply_to=reply_to)
        return self._create(f"/posts/{post_id}/comments", models.Comment, comment, idempotency_key)

    def list_comments(
        self, post_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> models.CommentPage:
        return self._call("GET", f"/posts/{post_id}/comments", models.CommentPage, query=_page(limit, cursor))

    def list_replies(
        self, post_id: str, comment_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> models.CommentPage:
        path = f"/posts/{post_id}/comments/{comment_id}/replies"
        return self._call("GET", path, models.CommentPage, query=_page(limit, cursor))

    def delete_comment(self, post_id: str, comment_id: str) -> models.CommentRemoved:
        return self._call("DELETE", f"/posts/{post_id}/comments/{comment_id}", models.CommentRemoved)

    # ----------------------------------------------------------------------------- reading
    def home_feed(self, *, limit: int | None = None, cursor: str | None = None) -> models.FeedPage:
        return self._call("GET", "/feed", models.FeedPage, query=_page(limit, cursor))

    def explore_page(
        self, *, session_id: str | None = None, network: str | None = None, opened_at: float | None = None
    ) -> models.ExplorePage:
        """Explore; the context (the app open, its network) is optional and shapes the page."""
        context = {"session_id": session_id, "network": network, "opened_at": opened_at}
        return self._call("GET", "/explore", models.ExplorePage, query=context)

    # ----------------------------------------------------------------------------- stories
    def post_story(self, media_id: str, *, idempotency_key: str | None = None) -> models.Story:
        return self._create("/stories", models.Story, models.NewStory(media_id=media_id), idempotency_key)

    def list_stories(self, user_id: str) -> models.StoryList:
        return self._call("GET", f"/users/{user_id}/stories", models.StoryList)

    def stories_tray(self) -> models.Tray:
        return self._call("GET", "/stories/tray", models.Tray)

    def delete_story(self, author_id: str, story_id: str) -> models.StoryRemoved:
        return self._call("DELETE", f"/stories/{author_id}/{story_id}", models.StoryRemoved)

    def story_seen(self, author_id: str, story_id: str) -> models.StorySeen:
        return self._call("PUT", f"/stories/{author_id}/{story_id}/seen", models.StorySeen)

    def pin_highlight(self, user_id: str, name: str, story_ids: list[str]) -> models.PinnedHighlight:
        highlight = models.Highlight(story_ids=story_ids)
        return self._call("PUT", f"/users/{user_id}/highlights/{name}", models.PinnedHighlight, highlight)

    def list_highlights(self, user_id: str) -> models.Highlights:
        return self._call("GET", f"/users/{user_id}/highlights", models.Highlights)

    # ----------------------------------------------------------------------------- moderation
    def add_to_blocklist(
        self, reason: str, *, media_id: str | None = None, pdq: str | None = None
    ) -> models.BlocklistAddition:
        entry = models.BlocklistEntry(reason=reason, media_id=media_id, pdq=pdq)
        return self._call("POST", "/moderation/blocklist", models.BlocklistAddition, entry)

    def review_queue(self, *, limit: int | None = None, cursor: str | None = None) -> models.ReviewPage:
        return self._call("GET", "/moderation/review", models.ReviewPage, query=_page(limit, cursor))

    def decide_review(
        self, media_id: str, verdict: Literal["approved", "blocked"], *, note: str = ""
    ) -> models.ReviewOutcome:
        decision = models.ReviewDecision(verdict=verdict, note=note)
        return self._call("PUT", f"/moderation/review/{media_id}", models.ReviewOutcome, decision)

    def add_moderation_term(self, term: str, reason: str) -> models.ModerationTerm:
        return self._call(
            "POST", "/moderation/terms", models.ModerationTerm, models.NewTerm(term=term, reason=reason)
        )

    def held_comments(self, *, limit: int | None = None, cursor: str | None = None) -> models.HeldCommentPage:
        return self._call("GET", "/moderation/comments", models.HeldCommentPage, query=_page(limit, cursor))

    def decide_comment(
        self, post_id: str, comment_id: str, verdict: Literal["approved", "removed"]
    ) -> models.CommentVerdict:
        decision = models.CommentDecision(verdict=verdict)
        path = f"/moderation/comments/{post_id}/{comment_id}"
        return self._call("PUT", path, models.CommentVerdict, decision)

    # ----------------------------------------------------------------------------- plumbing
    def _create(self, path: str, answer: type[Model], body: BaseModel, idempotency_key: str | None) -> Model:
        """A create, with one idempotency key for all of its retries."""
        return self._call(
            "POST", path, answer, body, headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        )

    def _call(
        self,
        method: str,
        path: str,
        answer: type[Model],
        body: BaseModel | None = None,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Model:
        sent = {**(headers or {}), **({"Authorization": f"Bearer {self.token}"} if self.token else {})}
        response = self.transport.send(
            method,
            path,
            json_body=None if body is None else body.model_dump(mode="json", exclude_none=True),
            query=query,
            headers=sent,
        )
        if response.status >= 400:
            raise ApiError(response)
        return answer.model_validate(response.body)


def pages(fetch: Callable[..., Model], *args: Any, limit: int | None = None) -> Iterator[Any]:
    """Every item of a paged listing, following ``next_cursor``: ``pages(api.list_followers, "u_1")``.

    A page has one list beside its cursor (``items``, or ``users`` for followers and following)."""
    cursor = None
    while True:
        page = fetch(*args, limit=limit, cursor=cursor)
        (listed,) = (name for name in type(page).model_fields if name != "next_cursor")
        yield from getattr(page, listed)
        cursor = getattr(page, "next_cursor", None)
        if not cursor:
            return


Polled = TypeVar("Polled", models.Media, models.Post)


def _poll(
    fetch: Callable[[], Polled], done: tuple[str, ...], on_progress: Progress | None, timeout: float
) -> Polled:
    """``fetch`` every quarter second until its state is one of ``done``, reporting each new state."""
    deadline = time.monotonic() + timeout
    last_state = ""
    while True:
        current = fetch()
        if current.state != last_state and on_progress:
            on_progress(current.state, {})
        last_state = current.state
        if current.state in done:
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(f"still {current.state} after {timeout:.0f} s: {current}")
        time.sleep(0.25)


def _page(limit: int | None, cursor: str | None) -> dict[str, Any]:
    return {"limit": limit, "cursor": cursor}


__all__ = ["Aperture", "ApiError", "Response", "UploadFailed", "pages"]
