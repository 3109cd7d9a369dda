"""The Python client of the Aperture API: what an app needs beside HTTP (the Stories cache)."""
