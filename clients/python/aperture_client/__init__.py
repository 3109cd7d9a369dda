"""The Python client of the Aperture API: ``Aperture`` (a typed method per route), the upload
helper, and the seed's client behaviours (the Stories cache, the follow button)."""

from aperture_client.client import Aperture, UploadFailed, pages
from aperture_client.follows import FollowButton
from aperture_client.stories_cache import StoriesCache
from aperture_client.transport import ApiError, Response

__all__ = ["Aperture", "ApiError", "FollowButton", "Response", "StoriesCache", "UploadFailed", "pages"]
