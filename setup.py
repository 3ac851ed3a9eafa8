"""The one C extension: event_id hashing in bulk. Metadata lives in pyproject.toml.

`optional=True`: without a compiler or OpenSSL headers the install still succeeds and
ecomlake.lineage hashes with hashlib instead (same bytes, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ecomlake._sha256batch",
            sources=["ecomlake/_sha256batch.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
