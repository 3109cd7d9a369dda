"""24-hour Stories: posting, the tray and its ranking by closeness, seen rings, highlights, and
exact expiry (scheduled, and by DynamoDB's TTL as defence in depth).

Imports: core; social (authors, followers); feed (who follows whom, merged authors); media
(a Story's media and its CDN paths).
"""
