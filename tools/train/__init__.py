"""``pipenv run train NAME``: train one of the project's shipped models."""
