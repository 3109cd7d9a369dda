"""Examples of what the API answers, for its document: recorded from a local run of the quickstart
(URLs moved to the CloudFront and S3 names they have in AWS). A test validates each one against its
model, so an example cannot drift from what the handlers return."""

from __future__ import annotations

from typing import Any

PROFILE: dict[str, Any] = {
    "user_id": "u_alice",
    "username": "alice",
    "display_name": "Alice",
    "bio": "",
    "archive_stories": True,
    "follower_count": 0,
    "following_count": 0,
    "created_at": 1796093482.807616,
    "updated_at": 1796093482.807616,
}

FOLLOW_STATE: dict[str, Any] = {
    "follower_id": "u_bob",
    "followee_id": "u_alice",
    "following": True,
    "updated_at": 1796092800000,
    "applied": True,
}

UPLOAD_STARTED: dict[str, Any] = {
    "media_id": "m_01M8QR76TXBNY6XM5TRQP0KY9J",
    "state": "pending",
    "upload": {
        "url": "https://aperture-prod-uploads-123456789012-us-east-1.s3.amazonaws.com/",
        "fields": {
            "Content-Type": "image/jpeg",
            "key": "uploads/u_alice/m_01M8QR76TXBNY6XM5TRQP0KY9J/original",
            "AWSAccessKeyId": "ASIAEXAMPLE",
            "policy": "eyJleHBpcmF0aW9uIjogIjIwMjYtMTItMDFUMDM6...",
            "signature": "VV3bNPxTIRrCp6ktYbLTq88PAYM=",
        },
    },
    "expires_in": 600,
    "expires_at": 1796094083.8699036,
}

MEDIA: dict[str, Any] = {
    "media_id": "m_01M8QR76TXBNY6XM5TRQP0KY9J",
    "owner_id": "u_alice",
    "state": "ready",
    "created_at": 1796093483.8699036,
    "updated_at": 1796093487.2221563,
    "declared_size": 35042,
    "declared_type": "image/jpeg",
    "upload_key": "uploads/u_alice/m_01M8QR76TXBNY6XM5TRQP0KY9J/original",
    "content_type": "image/jpeg",
    "kind": "image",
    "priority": False,
    "size": 35042,
    "width": 451,
    "height": 300,
    "thumbhash": "XUkGFYL2WGix5qmreEWIhQx31HBm",
    "has_alpha": False,
    "renditions": [
        {
            "key": "media/m_01M8QR76TXBNY6XM5TRQP0KY9J/2c0357a57121a80b/display.jpg",
            "url": "https://d111111abcdef8.cloudfront.net/media/m_01M8QR76TXBNY6XM5TRQP0KY9J/2c0357a57121a80b/display.jpg",
            "format": "JPEG",
            "width": 451,
            "height": 300,
            "name": "display",
            "bytes": 29155,
            "quality": 85,
            "ssimulacra2": 87.86,
            "target": 87.86,
        },
        {
            "key": "media/m_01M8QR76TXBNY6XM5TRQP0KY9J/2c0357a57121a80b/display.webp",
            "url": "https://d111111abcdef8.cloudfront.net/media/m_01M8QR76TXBNY6XM5TRQP0KY9J/2c0357a57121a80b/display.webp",
            "format": "WEBP",
            "width": 451,
            "height": 300,
            "name": "display",
            "bytes": 31130,
            "quality": 92,
            "ssimulacra2": 87.89,
            "target": 87.86,
        },
    ],
}

POST: dict[str, Any] = {
    "post_id": "p_GYRF2PKQRGAMFCQQHWB2Y6E0TE",
    "author_id": "u_alice",
    "caption": "Chelsea, on the sofa",
    "state": "published",
    "like_count": 0,
    "comment_count": 0,
    "created_at": 1796093487.3566134,
    "published_at": 1796093487.9596765,
    "media_id": "m_01M8QR76TXBNY6XM5TRQP0KY9J",
    "media_items": [{"media_id": "m_01M8QR76TXBNY6XM5TRQP0KY9J", "alt_text": "A cat asleep on a red sofa"}],
}

LIKE_STATE: dict[str, Any] = {
    "post_id": "p_GYRF2PKQRGAMFCQQHWB2Y6E0TE",
    "liked": True,
    "changed": True,
    "like_count": 1,
}

COMMENT: dict[str, Any] = {
    "post_id": "p_GYRF2PKQRGAMFCQQHWB2Y6E0TE",
    "comment_id": "c_5RZ0W8J3Q9KX2M7ND4TB6VH1CA",
    "author_id": "u_bob",
    "text": "What a cat!",
    "created_at": 1796093490.1180413,
    "state": "shown",
    "reply_count": 0,
}

STORY: dict[str, Any] = {
    "author_id": "u_alice",
    "story_id": "s_NGMGGZZRKQ9A6YS0TGRJ57ADSW",
    "media_id": "m_01M8QR76TXBNY6XM5TRQP0KY9J",
    "created_at": 1796093488.2330325,
    "expires_at": 1796179888.2330325,
}

TRAY: dict[str, Any] = {
    "items": [
        {
            "author_id": "u_alice",
            "latest_story_at": 1796093488.2330325,
            "expires_at": 1796179888.2330325,
            "unseen": True,
            "score": 1.545284131001172,
        }
    ],
    "server_time": 1796093490.2975957,
}

FEED_PAGE: dict[str, Any] = {
    "items": [
        {
            "post_id": "p_GYRF2PKQRGAMFCQQHWB2Y6E0TE",
            "author_id": "u_alice",
            "caption": "Chelsea, on the sofa",
            "state": "published",
            "like_count": 1,
            "comment_count": 1,
            "created_at": 1796093487.3566134,
            "published_at": 1796093487.9596765,
            "media_id": "m_01M8QR76TXBNY6XM5TRQP0KY9J",
            "media_items": [
                {"media_id": "m_01M8QR76TXBNY6XM5TRQP0KY9J", "alt_text": "A cat asleep on a red sofa"}
            ],
            "delivery": "fanout",
            "source": "fanout",
        }
    ],
    "next_cursor": "eyJwIjogInBfR1lSRjJQS1FSR0FNRkNRUUhXQjJZNkUwVEUifQ",
}

EXPLORE_PAGE: dict[str, Any] = {
    "items": [
        {
            "post_id": "p_ZFP1RF5KWA2NHE1SHWBMP0X4XC",
            "author_id": "u_sim0000008",
            "kind": "photo",
            "reason": {"source": "interest", "score": 2.401116},
        },
        {
            "post_id": "p_6PHEA846NZ760X2GF1FWJSZVZB",
            "author_id": "u_sim0000017",
            "kind": "photo",
            "reason": {"source": "interest", "score": 1.896013},
        },
        {
            "post_id": "p_MVY6H9514D3NWRNTC34E2WBS4S",
            "author_id": "u_sim0000030",
            "kind": "photo",
            "reason": {"source": "trending", "score": 1.880892},
        },
    ],
    "fallbacks": [],
    "model_version": "20261201T025051Z",
}
