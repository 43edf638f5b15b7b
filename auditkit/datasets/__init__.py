"""Example data: seeded synthetic generators with planted disparities, and public data sets to fetch.

Generators (:mod:`auditkit.datasets.generators`) make government decision data of
known bias; the fetch registry (:mod:`auditkit.datasets.fetch`) downloads public
real data sets on explicit request only, checks their hashes and caches them.
"""

from __future__ import annotations

from .generators import GENERATORS, PlantedDisparity, SyntheticData, generate

__all__ = ["GENERATORS", "PlantedDisparity", "SyntheticData", "generate"]
