"""The first five minutes with Aperture, against a running local stack (``pipenv run local``).

    pipenv run python examples/quickstart.py [--api http://127.0.0.1:8000] [--photo cat.jpg]

Two people sign up; Bob follows Alice; Alice uploads a photo and posts it; Bob likes it twice
(it counts once), sees Alice's Story in his tray and her post in his feed, and opens Explore;
then the processed picture is fetched from the CDN URL the API returned. Every call goes through
the Python client, ``aperture_client``.
"""

from __future__ import annotations

import argparse
import io
import mimetypes
import secrets
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from aperture_client import Aperture

Answer = TypeVar("Answer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--api", default="http://127.0.0.1:8000", help="the API's URL (the banner's API line)"
    )
    parser.add_argument("--photo", type=Path, help="a JPEG to upload (scikit-image's cat when absent)")
    args = parser.parse_args(argv)

    service = Aperture(args.api)
    print(f"API {args.api}: {service.health().status}")

    # Two people: the local stack's development login stands in for Cognito.
    suffix = secrets.token_hex(3)  # usernames are unique: a second run makes new people
    alice_id, alice = _sign_up(service, f"alice_{suffix}")
    bob_id, bob = _sign_up(service, f"bob_{suffix}")
    bob.set_follow(bob_id, alice_id, True)
    print(f"{bob_id} follows {alice_id}: {bob.get_user(alice_id).follower_count} follower")

    # An upload: the intent, the file straight to S3 (a presigned POST), then processing.
    photo, content_type = _photo(args.photo)
    media = alice.upload(photo, content_type, on_progress=_progress)
    print(f"media {media.media_id}: {media.width}x{media.height}, {len(media.renditions or [])} renditions")

    post = alice.create_post(media.media_id, caption="hello from the quickstart")
    post = alice.wait_for_post(post.post_id)  # pending until moderation clears the photo
    print(f"post {post.post_id}: {post.state}")
    first, second = bob.like_post(post.post_id), bob.like_post(post.post_id)
    print(f"liked twice: like_count {second.like_count} (changed {first.changed}, then {second.changed})")

    story = alice.post_story(media.media_id)
    tray = _eventually(bob.stories_tray, lambda tray: bool(tray.items))  # trays fill from a stream
    print(f"story {story.story_id}; bob's tray: {[entry.author_id for entry in tray.items]}")

    feed = _eventually(bob.home_feed, lambda feed: bool(feed.items))  # fan-out is a queued job
    print(f"bob's feed: {[item.post_id for item in feed.items]}")
    explore = bob.explore_page()
    print(f"bob's explore: {len(explore.items)} posts, fallbacks {explore.fallbacks}")

    largest = max(media.renditions or [], key=lambda rendition: rendition.width)
    with urllib.request.urlopen(largest.url, timeout=10) as response:
        body = response.read()
        print(f"GET {largest.url}: {response.status}, {len(body)} bytes, {response.headers['Content-Type']}")
        print(f"  Cache-Control: {response.headers['Cache-Control']}")
    return 0


def _sign_up(service: Aperture, username: str) -> tuple[str, Aperture]:
    """A user id and a client calling as that user, whose profile exists."""
    user_id = f"u_{username}"
    person = service.as_user(service.dev_token(user_id).id_token)
    person.create_user(username, display_name=username.split("_", maxsplit=1)[0].title())
    return user_id, person


def _photo(path: Path | None) -> tuple[bytes, str]:
    """The photo's bytes and type; without a path, a natural photo that ships with scikit-image."""
    if path is not None:
        return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "image/jpeg"
    from PIL import Image
    from skimage import data

    out = io.BytesIO()
    Image.fromarray(data.chelsea()).save(out, "JPEG", quality=90)
    return out.getvalue(), "image/jpeg"


def _eventually(fetch: Callable[[], Answer], ready: Callable[[Answer], bool], seconds: float = 30) -> Answer:
    """What ``fetch`` answers once ``ready`` holds: for what the service fills in asynchronously."""
    deadline = time.monotonic() + seconds
    while not ready(answer := fetch()) and time.monotonic() < deadline:
        time.sleep(0.25)
    return answer


def _progress(stage: str, detail: Mapping[str, Any]) -> None:
    print(f"  upload {stage}" + (f" ({detail['bytes']} bytes)" if "bytes" in detail else ""))


if __name__ == "__main__":
    sys.exit(main())
