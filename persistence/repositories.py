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
from persistence.freezes import FreezeGrantRepository
from persistence.goals import GoalRepository
from persistence.groups import GroupRepository, GuardianshipRepository
from persistence.indexes import WEEKLY, WEEKLY_BREAKDOWNS
from persistence.leaderboards import LeaderboardRepository
from persistence.learners import LearnerRepository
from persistence.notifications import NotificationRepository
from persistence.outbox import OutboxRepository
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
    goals: GoalRepository
    freeze_grants: FreezeGrantRepository
    notifications: NotificationRepository
    outbox: OutboxRepository
    leaderboards: LeaderboardRepository
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
            goals=GoalRepository(database),
            freeze_grants=FreezeGrantRepository(database),
            notifications=NotificationRepository(database),
            outbox=OutboxRepository(database),
            leaderboards=LeaderboardRepository(database),
            dashboards=DashboardRepository(database),
        )
