"""Fuzzers of the project's own code: ``pipenv run fuzz media --seconds N``."""
