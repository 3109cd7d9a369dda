"""Aperture's local stack: ``template.yaml`` run on moto's server, with no AWS account and no Docker.

moto creates the template's tables, buckets and queues; this package does the rest of what AWS
would: it runs each function in-process and wires its event sources exactly as the template
declares them, emulates DynamoDB TTL and EventBridge Scheduler, and serves the API over HTTP.
"""

import sys
from pathlib import Path

# In Lambda the domain layer is on the path of every function; locally it is put there first.
_LAYER = Path(__file__).resolve().parent.parent / "layers" / "aperture"
if str(_LAYER) not in sys.path:
    sys.path.insert(0, str(_LAYER))
