"""The web client in Chromium against the local stack (see tests/browser.py): a photo reaches a
follower's feed, a double click likes once, a Story leaves at its expiry, a blocked upload never
shows. Each saves a screenshot under tests/artifacts/."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Locator, Page

from aperture.core.aws import client
from aperture.core.clock import ScaledClock, get_clock, set_clock
from aperture.moderation.checks import pdq_hash
from aperture_local.stack import LocalStack
from aperture_local.webapp import AppServer, app_files
from benchmarks.natural import natural, natural_clip
from tests.browser import chromium, screenshot, signed_in
from tests.conftest import eventually
from tests.e2e.conftest import ApiStack, serving
from tools.publish_app import config_from_outputs, publish

pytestmark = [pytest.mark.slow(seconds=45), pytest.mark.browser]

SPEED = 8  # the stack's clock runs 8x the wall: a Story's 48 s last 6 s
LIFETIME = 48
BEST_FIRST = ("AVIF", "WEBP", "JPEG")  # what Chromium shows, best first


@dataclass
class Web:
    api: ApiStack
    app: AppServer
    browser: Browser
    people: set[str] = field(default_factory=set)  # who has a profile
    pages: list[Page] = field(default_factory=list)  # open, each polling the API

    def signed_in(self, user_id: str) -> Page:
        self.people.add(user_id)  # the app makes a profile at the first sign-in
        self.pages.append(signed_in(self.browser, self.app.url, user_id))
        return self.pages[-1]

    def close_pages(self) -> None:
        for page in self.pages:
            page.context.close()
        self.pages.clear()


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    previous = set_clock(ScaledClock(SPEED))
    app = AppServer(port=0)
    parameters = {"StoryLifetimeSeconds": str(LIFETIME), "AppOrigin": app.origin}
    try:
        with LocalStack(parameters=parameters, stack_name="web") as stack, serving(stack, cors=True) as api:
            app.start(api.client.base_url, refresh_seconds=1)
            with chromium() as browser:
                yield Web(api, app, browser)
            app.stop()
    finally:
        set_clock(previous)


@pytest.fixture(autouse=True)
def closing_pages(web: Web) -> Iterator[None]:
    yield
    web.close_pages()


def _share(page: Page, name: str, *, caption: str = "", story: bool = False, video: bool = False) -> str:
    """Shares a natural photo (or clip) through the New tab, as a person would; returns what the
    app said."""
    page.click("nav button[data-tab=create]")
    file = (
        FilePayload(name=f"{name}.mp4", mimeType="video/mp4", buffer=natural_clip(name).read_bytes())
        if video
        else FilePayload(name=f"{name}.png", mimeType="image/png", buffer=natural(name))
    )
    page.set_input_files("input[name=file]", files=[file])
    page.fill("input[name=caption]", caption)
    page.check(f"input[name=as][value={'story' if story else 'post'}]")
    page.click("#upload button[type=submit]")
    page.wait_for_function(
        "!['', 'uploading', 'processing'].includes(document.querySelector('#upload-state').textContent)",
        timeout=60_000,
    )
    return page.inner_text("#upload-state")


def _home(page: Page) -> None:
    """Opens the home tab, which refreshes the feed, and waits until its first page is drawn."""
    page.click("nav button[data-tab=home]")
    page.wait_for_selector("#feed:not([aria-busy])", state="attached")


def _follow(web: Web, follower: str, followee: str) -> None:
    """``follower`` (who needs no tab of their own) follows ``followee``."""
    person = web.api.as_user(follower)
    if follower not in web.people:
        person.create_user(follower.removeprefix("u_"))
        web.people.add(follower)
    assert person.set_follow(follower, followee, True).following


def _post_in_feed(page: Page, caption: str) -> Locator:
    def shown() -> bool:
        _home(page)
        return page.locator("li.post", has_text=caption).count() == 1

    eventually(shown, timeout=30, interval=0.5)
    return page.locator("li.post", has_text=caption)


@pytest.fixture(scope="module")
def cat_photo(web: Web) -> str:
    """Given Bob following Alice, and Alice sharing a photo of a cat from the New tab."""
    alice = web.signed_in("u_alice")
    _follow(web, "u_bob", "u_alice")
    said = _share(alice, "chelsea", caption="Chelsea the cat")
    web.close_pages()
    return said


def test_a_photo_uploaded_by_one_user_appears_in_a_followers_feed_in_the_best_format(
    web: Web, cat_photo: str
) -> None:
    # When Alice's photo is shared
    assert cat_photo == "shared"
    # Then it is in Bob's home feed, shown in the best format Chromium takes
    bob = web.signed_in("u_bob")
    post = _post_in_feed(bob, "Chelsea the cat")
    image = post.locator(".media picture img")
    image.wait_for()
    bob.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    media_id = post.locator(".media").get_attribute("data-media-id")
    assert media_id is not None
    formats = {r.format.upper() for r in web.api.as_user("u_bob").get_media(media_id).renditions or []}
    best = next(f for f in BEST_FIRST if f in formats)
    shown = image.evaluate("img => img.currentSrc")
    assert shown.rsplit(".", 1)[-1].upper().replace("JPG", "JPEG") == best, (shown, formats)
    assert post.locator(".author").inner_text() == "u_alice"
    # And the CDN's answer, read by the page across origins, is typed and cached for a year
    read = (
        "url => fetch(url).then(r => [r.status, "
        "r.headers.get('content-type'), r.headers.get('cache-control')])"
    )
    headers = bob.evaluate(read, shown)
    assert headers == [200, f"image/{best.lower()}", "public, max-age=31536000, immutable"]
    screenshot(bob, "feed")


def test_the_uploader_sees_the_thumbhash_until_moderation_clears_the_photo(web: Web) -> None:
    # Given moderation held back, and Gus sharing a photo of a coffee
    gus = web.signed_in("u_gus")
    with web.api.stack.paused("sqs:moderation"):
        gus.click("nav button[data-tab=create]")
        file = FilePayload(name="coffee.png", mimeType="image/png", buffer=natural("coffee"))
        gus.set_input_files("input[name=file]", files=[file])
        gus.click("#upload button[type=submit]")
        # When the photo is processed but not yet cleared
        placeholder = gus.locator("#upload-preview img.placeholder")
        placeholder.wait_for(timeout=30_000)
        # Then its ThumbHash stands in: a small picture of the photo's colours
        mean = placeholder.evaluate(
            """img => {
                const canvas = Object.assign(document.createElement("canvas"), {width: 8, height: 8});
                const context = canvas.getContext("2d");
                context.drawImage(img, 0, 0, 8, 8);
                const pixels = context.getImageData(0, 0, 8, 8).data;
                const sums = [0, 0, 0];
                for (let i = 0; i < pixels.length; i += 4) {
                    for (let c = 0; c < 3; c++) sums[c] += pixels[i + c];
                }
                return sums.map((sum) => sum / 64);
            }"""
        )
        photo = Image.open(io.BytesIO(natural("coffee"))).convert("RGB")
        expected = np.asarray(photo, dtype=float).mean(axis=(0, 1)).tolist()
        assert max(abs(a - b) for a, b in zip(mean, expected, strict=True)) < 25, (mean, expected)
        assert gus.locator("#upload-preview picture").count() == 0
        screenshot(gus, "placeholder")
    # And once moderation clears it, the picture replaces the placeholder
    gus.wait_for_function("document.querySelector('#upload-state').textContent === 'shared'", timeout=30_000)
    gus.locator("#upload-preview picture img").wait_for()
    assert gus.locator("#upload-preview img.placeholder").count() == 0


def test_the_like_count_survives_a_double_click(web: Web, cat_photo: str) -> None:
    # Given Alice's photo in Bob's feed
    bob = web.signed_in("u_bob")
    post = _post_in_feed(bob, "Chelsea the cat")
    post.locator(".media picture img").wait_for()
    # When Bob double-clicks the photo, twice
    post.locator(".media").dblclick()
    post.locator(".media").dblclick()
    # Then the heart shows one like once the requests settle, and the server counts one
    like = post.locator("button.like")
    bob.wait_for_function(
        "b => !b.dataset.pending && b.dataset.count === '1'", arg=like.element_handle(), timeout=10_000
    )
    assert like.get_attribute("aria-pressed") == "true"
    post_id = post.get_attribute("data-post-id")
    assert post_id is not None
    assert web.api.as_user("u_bob").get_post(post_id).like_count == 1
    # And after a reload the count holds
    bob.reload()
    bob.wait_for_selector("body[data-ready=true]")
    assert _post_in_feed(bob, "Chelsea the cat").locator("button.like").get_attribute("data-count") == "1"


def test_the_home_feed_loads_the_next_page_as_the_reader_reaches_its_end(web: Web, cat_photo: str) -> None:
    # Given Alice posting her photo eleven times more: twelve posts in Bob's feed, pages of ten
    alice = web.api.as_user("u_alice")
    (cat,) = [post for post in alice.list_posts("u_alice").items if post.caption == "Chelsea the cat"]
    for n in range(11):
        alice.create_post(cat.media_id, caption=f"Cat, again ({n})")
    eventually(lambda: len(web.api.as_user("u_bob").home_feed(limit=100).items) >= 12, timeout=30)
    # When Bob opens his feed, it shows the first page
    bob = web.signed_in("u_bob")
    posts = bob.locator("#feed li.post")
    assert posts.count() == 10
    # Then reaching its end brings the next page, and the feed says it is all caught up
    bob.wait_for_function(
        "[...document.querySelectorAll('#feed .media img')].filter(i => i.complete).length === 10"
    )
    bob.locator("#feed-end").scroll_into_view_if_needed()
    bob.wait_for_function("document.querySelectorAll('#feed li.post').length === 12")
    bob.wait_for_function("document.querySelector('#feed-end').textContent === \"You're all caught up.\"")
    captions = posts.locator(".caption").all_inner_texts()
    assert len(set(captions)) == 12
    assert captions[-1] == "Chelsea the cat"  # newest first


def test_a_story_disappears_at_its_expiry_by_the_servers_clock(web: Web) -> None:
    # Given Dana's Story, open in Bob's viewer (the stack's clock runs 8x the wall)
    dana = web.signed_in("u_dana")
    _follow(web, "u_bob", "u_dana")
    assert _share(dana, "astronaut", story=True) == "Story shared"
    (story,) = web.api.as_user("u_bob").list_stories("u_dana").items
    bob = web.signed_in("u_bob")
    ring = bob.locator("#tray .ring[data-author=u_dana]")
    ring.click()
    bob.locator("#story-viewer[open] .story-media picture img").wait_for()
    screenshot(bob, "story")
    # When the server's clock nears the Story's expires_at, it is still shown
    _sleep_until_server_time(story.expires_at - SPEED * 1.0)
    assert ring.count() == 1
    assert bob.locator("#story-viewer[open]").count() == 1
    # Then within two seconds of the wall after it, the ring and the viewer are gone
    _sleep_until_server_time(story.expires_at + SPEED * 2.0)
    assert ring.count() == 0
    assert bob.locator("#story-viewer[open]").count() == 0


def _sleep_until_server_time(moment: float) -> None:
    time.sleep(max(0.0, (moment - get_clock().now()) / SPEED))


def test_a_blocked_upload_never_shows(web: Web) -> None:
    # Given a picture a moderator put on the blocklist by its PDQ hash
    picture = Image.open(io.BytesIO(natural("rocket")))
    moderator = web.api.as_user("u_moderator").dev_token("u_moderator", moderator=True).id_token
    web.api.as_user("u_moderator").as_user(moderator).add_to_blocklist("known bad", pdq=pdq_hash(picture)[0])
    # When Erin, whom Bob follows, shares it
    erin = web.signed_in("u_erin")
    _follow(web, "u_bob", "u_erin")
    said = _share(erin, "rocket", caption="Launch day")
    # Then Erin is told it is not shared, her preview shows no picture, and Bob's feed never has it
    assert said == "not shared: blocked"
    assert erin.locator("#upload-preview img").count() == 0
    screenshot(erin, "blocked")
    bob = web.signed_in("u_bob")
    _home(bob)
    assert bob.locator("li.post", has_text="Launch day").count() == 0
    assert web.api.as_user("u_bob").home_feed().items == [] or all(
        post.caption != "Launch day" for post in web.api.as_user("u_bob").home_feed().items
    )


def test_publishing_puts_every_file_and_a_config_for_the_stack_in_the_app_bucket(web: Web) -> None:
    # Given a deployed stack's outputs (the names template.yaml gives them)
    outputs = {
        "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/Prod/",
        "HostedUiDomain": "aperture-dev-123456789012.auth.us-east-1.amazoncognito.com",
        "UserPoolClientId": "client123",
    }
    assert set(outputs) <= set(web.api.stack.template.document["Outputs"])
    bucket = web.api.stack.physical_id("WebAppBucket")
    # When the app is published into its bucket
    keys = publish(bucket, config_from_outputs(outputs))
    # Then every file the local stack serves is there, typed, the entry points always revalidated
    assert keys == sorted(f"app/{name}" for name in [*app_files(), "config.json"])
    s3 = client("s3")
    index = s3.get_object(Bucket=bucket, Key="app/index.html")
    assert (index["ContentType"], index["CacheControl"]) == ("text/html; charset=utf-8", "no-cache")
    hls = s3.head_object(Bucket=bucket, Key="app/vendor/hls.mjs")
    assert (hls["ContentType"], hls["CacheControl"]) == (
        "text/javascript; charset=utf-8",
        "public, max-age=300",
    )
    # And the config points the app at the stack's API and its hosted UI
    config = json.loads(s3.get_object(Bucket=bucket, Key="app/config.json")["Body"].read())
    assert config["api"] == outputs["ApiUrl"]
    assert config["auth"] == {
        "kind": "cognito",
        "domain": "https://aperture-dev-123456789012.auth.us-east-1.amazoncognito.com",
        "client_id": "client123",
    }


def test_another_origin_cannot_read_the_api(web: Web) -> None:
    # Given the app's page, and the same files on an origin the template does not allow
    # (localhost is not 127.0.0.1 to a browser)
    page = web.browser.new_page()
    stranger = web.app.origin.replace("127.0.0.1", "localhost")
    script = "url => fetch(url).then(r => r.status, e => e.name)"
    health = f"{web.api.client.base_url}/health"
    # When each asks the API for its health
    page.goto(web.app.url)
    # Then the app's origin reads the answer, and the other is refused it
    assert page.evaluate(script, health) == 200
    page.goto(f"{stranger}/app/index.html")
    assert page.evaluate(script, health) == "TypeError"


def test_a_video_plays_through_hls_once_its_ladder_is_made(web: Web) -> None:
    # Given Fay, whom Bob follows, sharing camera footage (the classic carphone sequence)
    fay = web.signed_in("u_fay")
    _follow(web, "u_bob", "u_fay")
    assert _share(fay, "carphone", caption="On the phone", video=True) == "shared"
    media_id = fay.locator("#upload-preview").get_attribute("data-media-id")
    assert media_id is not None
    # When its ladder is made (AV1 and H.264 rungs in an HLS master playlist)
    ladder = eventually(lambda: web.api.as_user("u_fay").get_media(media_id).ladder, timeout=90, interval=1)
    assert ladder is not None
    # Then Bob's feed plays one of its rungs through hls.js, and the picture moves
    bob = web.signed_in("u_bob")
    video = _post_in_feed(bob, "On the phone").locator("video")
    video.wait_for()
    assert video.get_attribute("data-player") == "hls.js"
    video.evaluate("v => v.play()")
    bob.wait_for_function("v => v.currentTime > 0.5", arg=video.element_handle(), timeout=20_000)
    played = tuple(video.evaluate("v => [v.videoWidth, v.videoHeight]"))
    assert played in {(rung.width, rung.height) for rung in ladder.variants}
    # And the rung is AV1, which Chromium decodes (dav1d): the ladder lists it first
    assert (video.get_attribute("data-codec") or "").startswith("av01")
    screenshot(bob, "video")
