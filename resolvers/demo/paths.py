"""The demo's learning paths: each certification's items in the order its learners take them."""

from __future__ import annotations

from domain.paths import LearningPath, PathStep
from resolvers.demo.catalog import CCP, CCP_PATH, SAA, SAA_PATH

PATHS: tuple[LearningPath, ...] = (
    LearningPath(
        id="saa-path",
        name="Solutions Architect - Associate, start to finish",
        certification=SAA,
        steps=tuple(PathStep(item_id) for item_id in SAA_PATH),
    ),
    LearningPath(
        id="ccp-path",
        name="Cloud Practitioner, start to finish",
        certification=CCP,
        steps=tuple(PathStep(item_id) for item_id in CCP_PATH),
    ),
)
