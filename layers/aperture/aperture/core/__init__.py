"""Plumbing every room stands on: AWS clients, configuration, the clock, errors, identity, ids,
job and message shapes, pagination, streams, the web layer, idempotency, observability, and the
table-model base.

Imports: the standard library and third-party packages only.

No module here imports a room: the rooms stand on the plumbing, never the other way round.
"""
