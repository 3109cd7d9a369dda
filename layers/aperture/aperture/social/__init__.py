"""The social graph and what people make in it: users and usernames, follows, blocks, posts,
likes and comments with their counters, and the notifications the service sends them.

Imports: core; stories (closeness grows with likes); media (a post's media: attached, cleared).
"""
