"""Explore: out-of-network discovery by two-stage retrieval and ranking, trained daily on the log.

Imports: core; social (posts, blocks); feed (whom a viewer follows) where it filters what it serves;
media (the media table, for each post's kind and verdict).
"""
