"""All repositories over one database, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from persistence.achievements import AchievementRepository, PointsRepository, UnlockRepository
from persistence.activity import ActivityRepository
from persistence.catalog import ContentRepository, SkillRepository
from persistence.certifications import CertificationRepository
from persistence.dashboards import DashboardRepository
from persistence.database import Database
from persistence.events import EventRepository
from persistence.groups import GroupRepository, GuardianshipRepository
from persistence.indexes import WEEKLY, WEEKLY_BREAKDOWNS
from persistence.learners import LearnerRepository
from persistence.paths import PathRepository
from persistence.progress import ProgressRepository
from persistence.skill_states import SkillStateRepository
from persistence.totals import TotalsRepository


@dataclass(frozen=True)
class Repositories:
    database: Database
    content: ContentRepository
    skills: SkillRepository
    certifications: CertificationRepository
    paths: PathRepository
    learners: LearnerRepository
    events: EventRepository
    progress: ProgressRepository
    skill_states: SkillStateRepository
    activity: ActivityRepository
    weeks: ActivityRepository
    totals: TotalsRepository
    achievements: AchievementRepository
    unlocks: UnlockRepository
    points: PointsRepository
    groups: GroupRepository
    guardianships: GuardianshipRepository
    dashboards: DashboardRepository

    @classmethod
    def over(cls, database: Database) -> Repositories:
        return cls(
            database=database,
            content=ContentRepository(database),
            skills=SkillRepository(database),
            certifications=CertificationRepository(database),
            paths=PathRepository(database),
            learners=LearnerRepository(database),
            events=EventRepository(database),
            progress=ProgressRepository(database),
            skill_states=SkillStateRepository(database),
            activity=ActivityRepository(database),
            weeks=ActivityRepository(database, totals=WEEKLY, breakdowns=WEEKLY_BREAKDOWNS),
            totals=TotalsRepository(database),
            achievements=AchievementRepository(database),
            unlocks=UnlockRepository(database),
            points=PointsRepository(database),
            groups=GroupRepository(database),
            guardianships=GuardianshipRepository(database),
            dashboards=DashboardRepository(database),
        )
