"""The C extensions; metadata lives in pyproject.toml.

- `ecomlake._sha256batch`: event_id hashing in bulk (needs OpenSSL's libcrypto).
- `ecomlake._kernels`: the counter RNG's bits, uniforms and draws, the plan's counting sort
  and group ranks and sums, prefixed id strings, and strings joined from vocabularies by index
  (no libraries).

Both are `optional=True`: without a compiler (or OpenSSL headers) the install still succeeds,
and ecomlake.lineage, ecomlake.rng.hashing, ecomlake.plan.sorting, ecomlake.plan.groups,
ecomlake.plan.ids and ecomlake.render.columns use their numpy, pyarrow and hashlib code instead
(same bytes, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "ecomlake._sha256batch",
            sources=["ecomlake/_sha256batch.c"],
            libraries=["crypto"],
            optional=True,
        ),
        Extension("ecomlake._kernels", sources=["ecomlake/_kernels.c"], optional=True),
    ]
)
