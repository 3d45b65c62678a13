"""Every index Cairn queries by, in one place; created at start-up."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, IndexModel

from persistence.database import Database

CONTENT = "content"
SKILLS = "skills"
LEARNERS = "learners"
EVENTS = "events"
PROGRESS = "content_progress"
SKILL_STATES = "skill_states"
DAILY = "daily_activity"
DAILY_BREAKDOWNS = "daily_breakdowns"  # read by _id only
WEEKLY = "weekly_activity"  # a rollup per learner and local ISO week, keyed by its Monday
WEEKLY_BREAKDOWNS = "weekly_breakdowns"  # read by _id only
TOTALS = "learner_totals"
ACHIEVEMENTS = "achievements"
UNLOCKS = "achievement_unlocks"
POINTS = "points_ledger"
MANUAL_AWARDS = "manual_awards"  # read by _id only: 'learner|award id', the idempotency key
CERTIFICATIONS = "certifications"  # read whole: a catalog holds a few dozen
PATHS = "learning_paths"  # read whole: a catalog holds a few dozen
GROUPS = "groups"
MEMBERSHIPS = "group_members"  # _id 'group|learner'
GUARDIANSHIPS = "guardianships"  # _id 'parent|learner'
FREEZE_GRANTS = "freeze_grants"  # _id 'learner|grant id', the idempotency key
WEEKLY_GOALS = "weekly_goals"  # _id the learner: their goal settings, by week
NOTIFICATIONS = "notifications"  # _id stable per user and cause (domain.notifications)
NOTIFICATION_PREFERENCES = "notification_preferences"  # _id the user
SWEEPS = "notification_sweeps"  # _id the periodic run ('weekly-summary:2026-03-09'), once done
OUTBOX = "webhook_outbox"  # _id: the message id, derived from its cause
LEADERBOARD = "leaderboard_entries"  # _id 'learner|period': a learner's points in a period
LEADERBOARD_COUNTS = "leaderboard_counts"  # _id 'board|period|shard': points histograms
MAINTENANCE = "maintenance"  # _id: the name of a one-off task done (read by _id only)
# The dashboards' aggregates (persistence.dashboards).
STANDING = "learner_standing"  # _id learner
AGGREGATE_CHANGES = "aggregate_changes"  # read in _id order
GROUP_AGGREGATES = "group_aggregates"  # _id 'group|kind|key'
GROUP_ROSTERS = "group_rosters"  # _id group; read by _id only
SYSTEM_AGGREGATES = "system_aggregates"  # _id 'kind|key'; read by _id only

INDEXES: dict[str, list[IndexModel]] = {
    CONTENT: [
        IndexModel([("certification", ASCENDING), ("_id", ASCENDING)], name="by_certification"),
    ],
    SKILLS: [IndexModel([("domain", ASCENDING), ("_id", ASCENDING)], name="by_domain")],
    # Events and per-learner derived documents are keyed by `_id` = "learner|key" (pair_id):
    # for events that is the idempotency key (a client's event id is unique per learner), for
    # unlocks the rule that an achievement unlocks once per learner.
    EVENTS: [
        IndexModel([("learnerId", ASCENDING), ("occurredAt", DESCENDING)], name="by_time"),
    ],
    PROGRESS: [
        # Pages are by learner, in content order; status and certification filters run over
        # one learner's documents (at most one per catalog item), so one index serves them all
        # and every write maintains one index rather than three.
        IndexModel([("learnerId", ASCENDING), ("contentId", ASCENDING)], name="by_content"),
    ],
    SKILL_STATES: [
        IndexModel([("learnerId", ASCENDING), ("skillId", ASCENDING)], name="by_skill"),
    ],
    DAILY: [
        IndexModel([("learnerId", ASCENDING), ("day", ASCENDING)], name="by_day"),
    ],
    WEEKLY: [
        IndexModel([("learnerId", ASCENDING), ("day", ASCENDING)], name="by_week"),
    ],
    UNLOCKS: [
        IndexModel([("learnerId", ASCENDING), ("seq", ASCENDING)], unique=True, name="by_seq"),
    ],
    POINTS: [
        IndexModel(
            [("learnerId", ASCENDING), ("at", DESCENDING), ("_id", DESCENDING)], name="by_time"
        )
    ],
    # Access checks ask which groups an educator teaches and which groups a learner is in.
    GROUPS: [IndexModel([("educatorIds", ASCENDING)], name="by_educator")],
    MEMBERSHIPS: [
        IndexModel([("groupId", ASCENDING), ("learnerId", ASCENDING)], name="by_group"),
        IndexModel([("learnerId", ASCENDING)], name="by_learner"),
    ],
    GUARDIANSHIPS: [
        IndexModel([("learnerId", ASCENDING)], name="by_learner"),
        IndexModel([("parentId", ASCENDING), ("learnerId", ASCENDING)], name="by_parent"),
    ],
    # The inbox, newest first, and its unread ones (the unread count walks only those).
    NOTIFICATIONS: [
        IndexModel(
            [("userId", ASCENDING), ("recordedAt", DESCENDING), ("_id", DESCENDING)],
            name="by_time",
        ),
        IndexModel([("userId", ASCENDING), ("unread", ASCENDING)], name="unread"),
        # The admin dashboard's engagement reads the last days' notifications, not all of them.
        IndexModel([("recordedAt", ASCENDING)], name="by_recorded_at"),
    ],
    # The notification sweep finds learners whose streak may be at risk by the last day covered.
    TOTALS: [IndexModel([("coveredThrough", ASCENDING)], name="by_covered_through")],
    # The dispatcher claims pending messages by due time (a lease is a due time in the future);
    # counts and the purge of delivered messages go by status.
    OUTBOX: [IndexModel([("status", ASCENDING), ("nextAt", ASCENDING)], name="by_due")],
    # A board is a range of `by_board`: `boards` holds '*' (overall) and the learner's groups
    # while they are listed, and `key` orders a board (most points first, then learner id).
    # Membership and privacy changes find a learner's entries through `by_learner`.
    LEADERBOARD: [
        IndexModel(
            [("period", ASCENDING), ("boards", ASCENDING), ("key", ASCENDING)], name="by_board"
        ),
        IndexModel([("learnerId", ASCENDING)], name="by_learner"),
    ],
    # Dropping a deleted group's boards.
    LEADERBOARD_COUNTS: [IndexModel([("board", ASCENDING)], name="by_board")],
    # A group's item and skill aggregates are read together; a deleted group's learners found.
    GROUP_AGGREGATES: [
        IndexModel(
            [("groupId", ASCENDING), ("kind", ASCENDING), ("key", ASCENDING)], name="by_group"
        )
    ],
    STANDING: [IndexModel([("groups", ASCENDING)], name="by_group")],
}


async def ensure_indexes(database: Database) -> None:
    for collection, models in INDEXES.items():
        await database[collection].create_indexes(models)
