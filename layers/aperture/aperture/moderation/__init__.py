"""Moderation: the PDQ blocklist, the classifier behind it with its circuit breaker, the review
queue, and what a verdict does to media and posts; the term list comments are screened against.

Imports: core; social (posts published when media clears, owners notified, comments held);
media (records and renditions); explore (flagged posts leave Explore; shown comments are
engagement it learns from).
"""
