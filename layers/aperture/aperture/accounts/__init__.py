"""Accounts as a whole: deleting one (the right to erasure) after a grace period that signing in
cancels, and exporting one's data.

Imports: core; social (profiles, posts, likes, comments, follows, blocks, notifications); stories
(a deleted author's Stories, trays and highlights); media (records, renditions and originals);
feed (rows delivered to followers); explore (features, the interaction log, posts hidden at once).
"""
