"""Moderation: the PDQ blocklist, the classifier behind it with its circuit breaker, the review
queue, and what a verdict does to media and posts.

Imports: core; social (posts published when media clears, owners notified); media (records and
renditions); explore (flagged posts leave Explore).
"""
