"""The home feed: fan-out on write for normal authors, merge on read for celebrities, the feed
read itself, and dormancy (who stops getting feed rows).

Imports: core; social (authors, followers, posts, blocks); stories (Stories reach trays through
the same fan-out queue).
"""
