"""``pipenv run simulate``: a synthetic world of users, creators, posts and interactions for Explore."""
