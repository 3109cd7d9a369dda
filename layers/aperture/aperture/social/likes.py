"""Likes: one per (user, post), and the post's count moves in the same transaction as the like row.

``reconcile_like_counts`` recounts from the like rows and repairs any drift, guarded by the count
it read, so it never overwrites a like that landed while it counted.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.transactions import TransactWrite

from aperture.core import clock
from aperture.core.errors import NotFound
from aperture.core.identity import Caller
from aperture.core.tables import CONDITION_FAILED, commit, condition_failed
from aperture.social.posts import PUBLISHED, get_post
from aperture.social.tables import Like, Post
from aperture.stories import closeness


def _transact(row: Like, post_id: str, *, liked: bool) -> bool:
    """Write or delete the like row and move the post's count with it, in one transaction.

    True when applied; False when the like row was already as wanted. The count moves only on a
    published post: a pending or blocked one is not there to like."""

    def build(write: TransactWrite) -> None:
        if liked:
            write.save(row, condition=Like.user_id.does_not_exist())
        else:
            write.delete(row, condition=Like.user_id.exists())
        write.update(
            Post(post_id), [Post.like_count.add(1 if liked else -1)], condition=Post.state == PUBLISHED
        )

    codes = commit(build)
    if not codes:
        return True
    if codes[1] == CONDITION_FAILED:
        raise NotFound(f"there is no post {post_id}")
    return False


def like(caller: Caller, post_id: str) -> dict[str, Any]:
    row = Like(post_id, caller.user_id, liked_at=clock.now())
    changed = _transact(row, post_id, liked=True)
    post = get_post(post_id)
    if changed:
        closeness.record(caller.user_id, post["author_id"])
    return {"post_id": post_id, "liked": True, "changed": changed, "like_count": post["like_count"]}


def unlike(caller: Caller, post_id: str) -> dict[str, Any]:
    changed = _transact(Like(post_id, caller.user_id), post_id, liked=False)
    return {
        "post_id": post_id,
        "liked": False,
        "changed": changed,
        "like_count": get_post(post_id)["like_count"],
    }


def withdraw(user_id: str, post_id: str) -> None:
    """Take a like back for good (its user's account is deleted): the count moves while the post
    is up; a pending or deleted post's like row just goes."""
    try:
        _transact(Like(post_id, user_id), post_id, liked=False)
    except NotFound:
        Like(post_id, user_id).delete()


def count_likes(post_id: str) -> int:
    return Like.count(post_id, consistent_read=True)


def reconcile_like_counts() -> dict[str, int]:
    """Recount every post's likes; repair the counts that drifted. Returns what it did."""
    checked = repaired = 0
    for post in Post.scan(attributes_to_get=["post_id", "like_count"]):
        checked += 1
        seen = int(post.like_count or 0)
        actual = count_likes(post.post_id)
        if actual == seen:
            continue
        try:
            post.update([Post.like_count.set(actual)], condition=Post.like_count == seen)
            repaired += 1
        except UpdateError as error:
            if not condition_failed(error):
                raise  # else a like landed while counting: the next run looks again
    return {"checked": checked, "repaired": repaired}
