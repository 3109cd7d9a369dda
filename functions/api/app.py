"""The HTTP API: a Chalice app, which is also the api function's Lambda handler (``app.app``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Chalice
from pydantic import BaseModel, ConfigDict, Field

from aperture.accounts import deletion, export
from aperture.core import clock, responses
from aperture.core.errors import NotFound
from aperture.core.idempotency import once
from aperture.core.identity import USER_ID, dev_issuer
from aperture.core.observability import powertools
from aperture.core.pagination import page_size
from aperture.core.web import Api, Reply, Request
from aperture.explore import realtime
from aperture.explore import service as explore
from aperture.feed import dormancy
from aperture.feed import home as feed
from aperture.media import records, superres
from aperture.moderation import checks as moderation
from aperture.moderation import screening, terms
from aperture.social import blocks, comments, graph, likes, notifications, posts, users
from aperture.stories import story as stories

logger, tracer, metrics = powertools("api")
app = Chalice(app_name="aperture")
api = Api(app, logger, title="Aperture", version="1")
PAGE = {"limit": "page size, 1 to 100 (25 when absent)", "cursor": "next_cursor of the previous page"}
IDEMPOTENT = {"Idempotency-Key": "repeat a create safely: the same key and body give the first response"}


@app.middleware("http")
def observe(event: Any, get_response: Any) -> Any:
    """Correlate every log line with the API Gateway request id and count responses by class."""
    logger.set_correlation_id(event.context.get("requestId"))
    with tracer.provider.in_subsegment(f"## {event.method} {event.path}"):
        response = get_response(event)
    metrics.add_metric(name=f"Http{response.status_code // 100}xx", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    logger.info("request", extra={"method": event.method, "path": event.path, "status": response.status_code})
    return response


def _create_once(
    request: Request, scope: str, create: Callable[[str | None], dict[str, Any]]
) -> dict[str, Any]:
    """A create honouring the Idempotency-Key header, scoped to the route and the caller;
    ``create`` takes the request key its ids derive from (None without a header)."""
    return once(
        scope,
        request.user.user_id,
        request.headers.get("idempotency-key"),
        request.body.model_dump() if request.body is not None else {},
        create,
        lambda_context=request.lambda_context,
    )


class DevLogin(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(pattern=USER_ID.pattern)
    lifetime_seconds: int = Field(default=3600, ge=60, le=86_400)
    groups: list[Literal["moderators"]] = Field(default=[], description="Cognito groups to claim")


@api.route("/health", "GET", "Liveness and the server's clock", response=responses.Health, auth=False)
def health(request: Request) -> dict[str, Any]:
    return {"status": "ok", "server_time": clock.now()}


@api.route(
    "/openapi.json", "GET", "This API's OpenAPI document", response=responses.OpenApiDocument, auth=False
)
def openapi(request: Request) -> dict[str, Any]:
    return api.openapi()


@api.route(
    "/models/sr/latest",
    "GET",
    "The super-resolution model, for upscaling low tiers on the device",
    response=responses.SrModel,
    auth=False,
)
def super_resolution_model(request: Request) -> Reply:
    try:
        model = superres.shipped_model()
    except superres.SrModelError as error:
        raise NotFound("this deployment ships no readable super-resolution model") from error
    # A day's cache: a new model ships with a deployment, and players check its version.
    return Reply(superres.publication(model), {"Cache-Control": "public, max-age=86400"})


@api.route(
    "/auth/token",
    "POST",
    "Development login (local stack only; Cognito in AWS)",
    response=responses.DevToken,
    body=DevLogin,
    auth=False,
)
def dev_token(request: Request) -> dict[str, Any]:
    login: DevLogin = request.body
    token = dev_issuer().issue(login.user_id, login.lifetime_seconds, tuple(login.groups))
    deletion.cancel_deletion(login.user_id)  # a sign-in, as Cognito's post-authentication trigger sees it
    return {"id_token": token, "token_type": "Bearer", "expires_in": login.lifetime_seconds}


@api.route(
    "/users",
    "POST",
    "Create the caller's profile",
    response=responses.Profile,
    body=users.NewProfile,
    status=201,
    headers=IDEMPOTENT,
    links={
        f"GET {path}": {"user_id": "$response.body#/user_id"}
        for path in (
            "/users/{user_id}",
            "/users/{user_id}/followers",
            "/users/{user_id}/posts",
            "/users/{user_id}/stories",
        )
    },
)
def create_user(request: Request) -> dict[str, Any]:
    return _create_once(request, "POST /users", lambda _: users.create_profile(request.user, request.body))


@api.route("/users/{user_id}", "GET", "A user's profile and counts", response=responses.Profile)
def get_user(request: Request, user_id: str) -> dict[str, Any]:
    return users.get_profile(user_id)


@api.route(
    "/users/{user_id}",
    "PATCH",
    "Change the caller's profile",
    response=responses.Profile,
    errors=(403, 409),
    body=users.ProfileChanges,
)
def update_user(request: Request, user_id: str) -> dict[str, Any]:
    return users.update_profile(request.user, user_id, request.body)


@api.route(
    "/users/{user_id}",
    "DELETE",
    "Delete the caller's account and everything it made, once the grace period ends (signing in cancels)",
    response=responses.AccountDeletionScheduled,
    errors=(403,),
    status=202,
)
def delete_user(request: Request, user_id: str) -> dict[str, Any]:
    return deletion.request_deletion(request.user, user_id)


@api.route(
    "/users/{user_id}/exports",
    "POST",
    "Export the caller's data as a zip: poll the export until it is ready",
    response=responses.AccountExport,
    errors=(403, 429),
    status=202,
    headers=IDEMPOTENT,
    links={
        "GET /users/{user_id}/exports/{export_id}": {
            "user_id": "$response.body#/user_id",
            "export_id": "$response.body#/export_id",
        }
    },
)
def export_account(request: Request, user_id: str) -> dict[str, Any]:
    return _create_once(
        request,
        f"POST /users/{user_id}/exports",
        lambda key: export.request_export(request.user, user_id, key),
    )


@api.route(
    "/users/{user_id}/exports/{export_id}",
    "GET",
    "An export's state, and a link to its zip once ready",
    response=responses.AccountExport,
    errors=(403,),
)
def get_export(request: Request, user_id: str, export_id: str) -> dict[str, Any]:
    return export.export_state(request.user, user_id, export_id)


@api.route(
    "/users/{user_id}/following/{followee_id}",
    "PUT",
    "Follow or unfollow (last write wins)",
    response=responses.FollowState,
    errors=(403, 409),
    body=graph.FollowRequest,
)
def set_follow(request: Request, user_id: str, followee_id: str) -> dict[str, Any]:
    state = graph.set_follow_state(request.user, user_id, followee_id, request.body)
    if state["applied"] and state["following"]:
        feed.backfill(user_id, followee_id)
    return state


@api.route("/users/{user_id}/followers", "GET", "Who follows a user", response=responses.UserPage, query=PAGE)
def list_followers(request: Request, user_id: str) -> dict[str, Any]:
    return graph.followers(user_id, page_size(request.query.get("limit")), request.query.get("cursor"))


@api.route(
    "/users/{user_id}/following", "GET", "Whom a user follows", response=responses.UserPage, query=PAGE
)
def list_following(request: Request, user_id: str) -> dict[str, Any]:
    return graph.following(user_id, page_size(request.query.get("limit")), request.query.get("cursor"))


@api.route(
    "/users/{user_id}/posts",
    "GET",
    "A user's posts, newest first: the profile grid",
    response=responses.GridPage,
    query=PAGE,
)
def list_posts(request: Request, user_id: str) -> dict[str, Any]:
    limit, cursor = page_size(request.query.get("limit")), request.query.get("cursor")
    return posts.profile_grid(request.user, user_id, limit, cursor)


@api.route(
    "/posts",
    "POST",
    "Create a post",
    response=responses.Post,
    errors=(403, 404),
    body=posts.NewPost,
    status=201,
    headers=IDEMPOTENT,
    links={
        target: {"post_id": "$response.body#/post_id"}
        for target in (
            "GET /posts/{post_id}",
            "PUT /posts/{post_id}/like",
            "DELETE /posts/{post_id}/like",
            "POST /posts/{post_id}/interactions",
            "POST /posts/{post_id}/comments",
            "GET /posts/{post_id}/comments",
            "DELETE /posts/{post_id}",
        )
    },
)
def create_post(request: Request) -> dict[str, Any]:
    return _create_once(
        request, "POST /posts", lambda key: posts.create_post(request.user, request.body, key)
    )


@api.route("/posts/{post_id}", "GET", "A post and its like count", response=responses.Post)
def get_post(request: Request, post_id: str) -> dict[str, Any]:
    return posts.view_post(request.user, post_id)


@api.route(
    "/posts/{post_id}", "DELETE", "Delete the caller's post", response=responses.PostDeleted, errors=(403,)
)
def delete_post(request: Request, post_id: str) -> dict[str, Any]:
    return posts.delete_post(request.user, post_id)


@api.route(
    "/posts/{post_id}/comments",
    "POST",
    "Comment on a post, or reply to one of its comments",
    response=responses.Comment,
    errors=(403, 409, 429),
    body=comments.NewComment,
    status=201,
    headers=IDEMPOTENT,
    links={
        target: {"post_id": "$response.body#/post_id", "comment_id": "$response.body#/comment_id"}
        for target in (
            "GET /posts/{post_id}/comments/{comment_id}/replies",
            "DELETE /posts/{post_id}/comments/{comment_id}",
        )
    },
)
def create_comment(request: Request, post_id: str) -> dict[str, Any]:
    return _create_once(
        request,
        f"POST /posts/{post_id}/comments",
        lambda key: screening.post_comment(request.user, post_id, request.body, key),
    )


@api.route(
    "/posts/{post_id}/comments",
    "GET",
    "A post's comments, oldest first",
    response=responses.CommentPage,
    query=PAGE,
)
def list_comments(request: Request, post_id: str) -> dict[str, Any]:
    limit, cursor = page_size(request.query.get("limit")), request.query.get("cursor")
    return comments.list_comments(request.user, post_id, limit, cursor)


@api.route(
    "/posts/{post_id}/comments/{comment_id}/replies",
    "GET",
    "A comment's replies, oldest first",
    response=responses.CommentPage,
    query=PAGE,
)
def list_replies(request: Request, post_id: str, comment_id: str) -> dict[str, Any]:
    limit, cursor = page_size(request.query.get("limit")), request.query.get("cursor")
    return comments.list_replies(request.user, post_id, comment_id, limit, cursor)


@api.route(
    "/posts/{post_id}/comments/{comment_id}",
    "DELETE",
    "Delete a comment (its author or the post's author) and its replies",
    response=responses.CommentRemoved,
    errors=(403, 409),
)
def delete_comment(request: Request, post_id: str, comment_id: str) -> dict[str, Any]:
    return comments.delete_comment(request.user, post_id, comment_id)


@api.route("/feed", "GET", "The caller's home feed, newest first", response=responses.FeedPage, query=PAGE)
def home_feed(request: Request) -> dict[str, Any]:
    dormancy.touch(request.user.user_id)
    return feed.read_feed(
        request.user.user_id, page_size(request.query.get("limit")), request.query.get("cursor")
    )


@api.route(
    "/explore",
    "GET",
    "Posts from outside the caller's network, each with why it was chosen",
    response=responses.ExplorePage,
    query={
        "session_id": "the app open this page is asked in (8 to 64 of A-Z, a-z, 0-9, _ and -)",
        "network": "wifi, 4g, 3g, 2g or slow-2g: on a slow one, fewer videos",
        "opened_at": "epoch seconds of that app open: what was done since shapes the page",
    },
)
def explore_page(request: Request) -> dict[str, Any]:
    page = explore.explore_page(request.user.user_id, explore.PageContext.from_query(request.query))
    for fallback in page["fallbacks"]:
        metrics.add_metric(name=f"ExploreFallback_{fallback}", unit=MetricUnit.Count, value=1)
    return page


@api.route(
    "/posts/{post_id}/interactions",
    "POST",
    "Record a view, comment, share, save or report; a repeated event_id counts once",
    response=responses.Interaction,
    body=realtime.NewInteraction,
    status=202,
)
def record_interaction(request: Request, post_id: str) -> dict[str, Any]:
    row, new = realtime.record_interaction(request.user, post_id, request.body)
    return {**row, "duplicate": not new}


@api.route(
    "/users/{user_id}/blocks/{blocked_id}",
    "PUT",
    "Block a user: their posts leave the caller's feed",
    response=responses.BlockState,
    errors=(403,),
)
def block_user(request: Request, user_id: str, blocked_id: str) -> dict[str, Any]:
    return blocks.block(request.user, user_id, blocked_id)


@api.route(
    "/users/{user_id}/blocks/{blocked_id}",
    "DELETE",
    "Unblock a user",
    response=responses.BlockState,
    errors=(403,),
)
def unblock_user(request: Request, user_id: str, blocked_id: str) -> dict[str, Any]:
    return blocks.unblock(request.user, user_id, blocked_id)


@api.route(
    "/notifications",
    "GET",
    "The caller's notifications, newest first",
    response=responses.NotificationPage,
    query=PAGE,
)
def list_notifications(request: Request) -> dict[str, Any]:
    return notifications.notifications_of(
        request.user.user_id, page_size(request.query.get("limit")), request.query.get("cursor")
    )


@api.route(
    "/moderation/blocklist",
    "POST",
    "Moderators: add known-bad media (by media id or PDQ hash) to the blocklist",
    response=responses.BlocklistAddition,
    errors=(403, 404),
    body=moderation.BlocklistEntry,
    status=201,
)
def add_to_blocklist(request: Request) -> dict[str, Any]:
    return moderation.add_to_blocklist(request.user, request.body)


@api.route(
    "/moderation/review",
    "GET",
    "Moderators: media held for review, oldest first",
    response=responses.ReviewPage,
    errors=(403,),
    query=PAGE,
)
def review_queue(request: Request) -> dict[str, Any]:
    return moderation.review_queue(
        request.user, page_size(request.query.get("limit")), request.query.get("cursor")
    )


@api.route(
    "/moderation/review/{media_id}",
    "PUT",
    "Moderators: approve or block media held for review",
    response=responses.ReviewOutcome,
    errors=(403, 409),
    body=moderation.ReviewDecision,
)
def decide_review(request: Request, media_id: str) -> dict[str, Any]:
    return moderation.decide_review(request.user, media_id, request.body)


@api.route(
    "/moderation/terms",
    "POST",
    "Moderators: hold comments containing a word or phrase for review",
    response=responses.ModerationTerm,
    errors=(403,),
    body=terms.NewTerm,
    status=201,
)
def add_moderation_term(request: Request) -> dict[str, Any]:
    return terms.add_term(request.user, request.body)


@api.route(
    "/moderation/comments",
    "GET",
    "Moderators: comments held for review, oldest first",
    response=responses.HeldCommentPage,
    errors=(403,),
    query=PAGE,
)
def held_comments(request: Request) -> dict[str, Any]:
    limit, cursor = page_size(request.query.get("limit")), request.query.get("cursor")
    return screening.held_comments(request.user, limit, cursor)


@api.route(
    "/moderation/comments/{post_id}/{comment_id}",
    "PUT",
    "Moderators: approve or remove a held comment",
    response=responses.CommentVerdict,
    errors=(403, 409),
    body=screening.CommentDecision,
)
def decide_comment(request: Request, post_id: str, comment_id: str) -> dict[str, Any]:
    return screening.decide_comment(request.user, post_id, comment_id, request.body)


@api.route(
    "/uploads",
    "POST",
    "Start an upload: a presigned S3 POST and a pending media id",
    response=responses.UploadStarted,
    body=records.UploadIntent,
    status=201,
    headers=IDEMPOTENT,
    links={"GET /media/{media_id}": {"media_id": "$response.body#/media_id"}},
)
def create_upload(request: Request) -> dict[str, Any]:
    intent = _create_once(
        request, "POST /uploads", lambda _: records.create_upload(request.user, request.body)
    )
    return records.still_open(intent)


@api.route(
    "/media/{media_id}", "GET", "A media item's state, renditions and ThumbHash", response=responses.Media
)
def get_media(request: Request, media_id: str) -> dict[str, Any]:
    return records.view_media(request.user, media_id)


@api.route(
    "/posts/{post_id}/like", "PUT", "Like a post (once per user)", response=responses.LikeState, errors=(409,)
)
def like_post(request: Request, post_id: str) -> dict[str, Any]:
    return likes.like(request.user, post_id)


@api.route("/posts/{post_id}/like", "DELETE", "Take back a like", response=responses.LikeState, errors=(409,))
def unlike_post(request: Request, post_id: str) -> dict[str, Any]:
    return likes.unlike(request.user, post_id)


def _until_first_expiry(items: list[dict[str, Any]], now: float) -> Reply:
    """Stories with the server's time, cacheable no longer than the first of them stays live."""
    left = min((item["expires_at"] - now for item in items), default=0)
    cache = f"private, max-age={int(left)}" if left >= 1 else "no-store"
    return Reply({"items": items, "server_time": now}, {"Cache-Control": cache})


@api.route(
    "/stories",
    "POST",
    "Post a Story of the caller's ready media",
    response=responses.Story,
    errors=(403, 404, 409),
    body=stories.NewStory,
    status=201,
    headers=IDEMPOTENT,
    links={
        "PUT /stories/{author_id}/{story_id}/seen": {
            "author_id": "$response.body#/author_id",
            "story_id": "$response.body#/story_id",
        }
    },
)
def post_story(request: Request) -> dict[str, Any]:
    return _create_once(
        request, "POST /stories", lambda key: stories.post_story(request.user, request.body, key)
    )


@api.route("/users/{user_id}/stories", "GET", "A user's live Stories", response=responses.StoryList)
def list_stories(request: Request, user_id: str) -> Reply:
    now = clock.now()
    return _until_first_expiry(stories.live_stories(user_id, now), now)


@api.route(
    "/stories/tray",
    "GET",
    "The caller's Stories tray: followed authors with live Stories",
    response=responses.Tray,
)
def stories_tray(request: Request) -> Reply:
    now = clock.now()
    return _until_first_expiry(stories.tray(request.user.user_id, now), now)


@api.route(
    "/stories/{author_id}/{story_id}",
    "DELETE",
    "Take the caller's live Story down before it expires",
    response=responses.StoryRemoved,
    errors=(403,),
)
def delete_story(request: Request, author_id: str, story_id: str) -> dict[str, Any]:
    return stories.delete_story(request.user, author_id, story_id)


@api.route(
    "/stories/{author_id}/{story_id}/seen",
    "PUT",
    "Mark a Story seen by the caller",
    response=responses.StorySeen,
)
def story_seen(request: Request, author_id: str, story_id: str) -> dict[str, Any]:
    return stories.mark_seen(request.user, author_id, story_id)


@api.route(
    "/users/{user_id}/highlights/{name}",
    "PUT",
    "Pin archived Stories to a named highlight",
    response=responses.PinnedHighlight,
    errors=(403,),
    body=stories.Highlight,
)
def pin_highlight(request: Request, user_id: str, name: str) -> dict[str, Any]:
    return stories.pin_highlight(request.user, user_id, name, request.body)


@api.route("/users/{user_id}/highlights", "GET", "A user's highlights", response=responses.Highlights)
def list_highlights(request: Request, user_id: str) -> dict[str, Any]:
    return {"items": stories.highlights(user_id)}
