"""Demo data: an AWS certification catalog, four learners and weeks of their study.

`seed_demo` gives a fresh database something for every query, dashboard and analytics view to
show. It goes through the same use cases as real clients (catalog upserts, learner upsert,
`Recorder.record_many`), so the derived state it leaves is exactly what real events produce.

It is deterministic and idempotent: the events are a function of `now`, `weeks` and `seed`, and
each carries a fixed id, so a second run with the same arguments replays every event and stores
nothing new. The generation is anchored to the learners' local calendar days, not to the exact
instant: a later run on the same day produces the same events, plus the ones whose time has come
since. A run on another day (or with another seed) tells another story: its events would clash
with the stored ones (the same ids, other payloads), so `seed_demo` raises `DemoSeedError` before
storing any of them rather than mix the two.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from domain.catalog import ContentItem, ContentKind, Difficulty, Skill
from domain.events import MAX_BATCH, EventDraft, EventType, fingerprint
from domain.learners import Learner, LearnerChanges
from persistence.repositories import Repositories
from resolvers.catalog import MAX_UPSERT, upsert_content, upsert_skills
from resolvers.learners import upsert_learner
from resolvers.recording import Recorder

# ---------------------------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------------------------

SAA = "SAA"  # AWS Certified Solutions Architect - Associate
CCP = "CCP"  # AWS Certified Cloud Practitioner

# The SAA-C03 exam domains, used as skill domains.
SECURE = "Design Secure Architectures"
RESILIENT = "Design Resilient Architectures"
PERFORMANT = "Design High-Performing Architectures"
COST = "Design Cost-Optimized Architectures"
# The CLF-C02 domains that the SAA ones do not already cover.
CLOUD_CONCEPTS = "Cloud Concepts"
SECURITY_COMPLIANCE = "Security and Compliance"
BILLING = "Billing, Pricing and Support"

SKILLS: tuple[Skill, ...] = (
    Skill("iam", "IAM users, roles and policies", SECURE),
    Skill("vpc", "VPC networking and security groups", SECURE),
    Skill("kms", "Encryption with KMS", SECURE),
    Skill("elb-asg", "Load balancing and Auto Scaling", RESILIENT),
    Skill("sqs-sns", "Decoupling with SQS and SNS", RESILIENT),
    Skill("route53", "DNS and failover with Route 53", RESILIENT),
    Skill("rds", "Relational databases: RDS and Aurora", RESILIENT),
    Skill("ec2", "EC2 compute", PERFORMANT),
    Skill("ebs-efs", "Block and file storage: EBS and EFS", PERFORMANT),
    Skill("s3", "Object storage with S3", PERFORMANT),
    Skill("dynamodb", "DynamoDB", PERFORMANT),
    Skill("cloudfront", "Edge caching with CloudFront", PERFORMANT),
    Skill("lambda", "Serverless compute with Lambda", PERFORMANT),
    Skill("ec2-pricing", "EC2 purchasing options", COST),
    Skill("cost-explorer", "Cost visibility: Cost Explorer and Budgets", COST),
    Skill("cloud-concepts", "Cloud computing concepts", CLOUD_CONCEPTS),
    Skill("shared-responsibility", "The shared responsibility model", SECURITY_COMPLIANCE),
    Skill("billing-support", "AWS pricing and support plans", BILLING),
)

LESSON, QUESTION, LAB, QUIZ, PRACTICE = (
    ContentKind.LESSON,
    ContentKind.QUESTION,
    ContentKind.LAB,
    ContentKind.QUIZ,
    ContentKind.PRACTICE,
)
EASY, MEDIUM, HARD = Difficulty.BEGINNER, Difficulty.INTERMEDIATE, Difficulty.ADVANCED

# One row per content item: id, title, kind, skill ids (space separated), category, difficulty,
# estimated minutes. Rows are grouped by module, in the order a learner is meant to take them:
# the learners below walk these lists from the top.
_Row = tuple[str, str, ContentKind, str, str, Difficulty, int]
_Module = tuple[str, str, tuple[_Row, ...]]  # certification, module name, rows

# fmt: off
_MODULES: tuple[_Module, ...] = (
    (SAA, "SAA 1: Secure architectures", (
        ("saa-iam-1", "IAM users, groups and roles", LESSON, "iam", "IAM", EASY, 20),
        ("saa-iam-2", "Reading an IAM policy document", LESSON, "iam", "IAM", MEDIUM, 25),
        ("saa-iam-3", "Which principal needs a role?", QUESTION, "iam", "IAM", MEDIUM, 5),
        ("saa-iam-4", "Cross-account access with STS", QUESTION, "iam", "IAM", HARD, 6),
        ("saa-vpc-1", "VPC building blocks: subnets and routes", LESSON, "vpc", "VPC", EASY, 30),
        ("saa-vpc-2", "Security groups vs network ACLs", LESSON, "vpc iam", "VPC", MEDIUM, 20),
        ("saa-vpc-3", "Build a two-tier VPC", LAB, "vpc", "VPC", MEDIUM, 60),
        ("saa-vpc-4", "NAT gateway or VPC endpoint?", QUESTION, "vpc", "VPC", HARD, 5),
        ("saa-vpc-5", "VPC peering vs Transit Gateway", QUESTION, "vpc", "VPC", HARD, 5),
        ("saa-kms-1", "Encryption at rest with KMS", LESSON, "kms", "KMS", MEDIUM, 20),
        ("saa-kms-2", "Envelope encryption for S3 objects", QUESTION, "kms s3", "KMS", HARD, 5),
        ("saa-secure-quiz", "Secure architectures quiz", QUIZ, "iam vpc", "IAM", MEDIUM, 20),
        ("saa-iam-5", "IAM policy evaluation practice", PRACTICE, "iam kms", "IAM", HARD, 30),
    )),
    (SAA, "SAA 2: Resilient architectures", (
        ("saa-elb-1", "Load balancers: ALB, NLB and GWLB", LESSON, "elb-asg", "ELB", EASY, 20),
        ("saa-elb-2", "Auto Scaling policies", LESSON, "elb-asg", "ELB", MEDIUM, 25),
        ("saa-elb-3", "Scale a web tier across two AZs", LAB, "elb-asg ec2", "ELB", MEDIUM, 45),
        ("saa-elb-4", "Sticky sessions or a session store?", QUESTION, "elb-asg", "ELB", MEDIUM, 4),
        ("saa-sqs-1", "Decoupling with SQS and SNS", LESSON, "sqs-sns", "SQS", EASY, 20),
        ("saa-sqs-2", "Standard vs FIFO queues", QUESTION, "sqs-sns", "SQS", MEDIUM, 5),
        ("saa-sqs-3", "Fan-out with SNS and SQS", LAB, "sqs-sns lambda", "SQS", HARD, 40),
        ("saa-r53-1", "Route 53 routing policies", LESSON, "route53", "Route 53", MEDIUM, 20),
        ("saa-r53-2", "Active-passive failover", QUESTION, "route53", "Route 53", HARD, 5),
        ("saa-rds-1", "RDS Multi-AZ and read replicas", LESSON, "rds", "RDS", MEDIUM, 25),
        ("saa-rds-2", "Aurora or RDS for this workload?", QUESTION, "rds", "RDS", HARD, 5),
        ("saa-resilient-quiz", "Resilient architectures quiz", QUIZ, "elb-asg sqs-sns", "ELB",
         MEDIUM, 20),
        ("saa-dr-1", "Disaster recovery strategies practice", PRACTICE, "rds route53", "RDS",
         HARD, 30),
    )),
    (SAA, "SAA 3: High-performing architectures", (
        ("saa-ec2-1", "Choosing EC2 instance families", LESSON, "ec2", "EC2", EASY, 20),
        ("saa-ec2-2", "EC2 instance types", QUESTION, "ec2", "EC2", MEDIUM, 4),
        ("saa-ec2-3", "Placement groups", QUESTION, "ec2", "EC2", HARD, 5),
        ("saa-ebs-1", "EBS volume types and EFS", LESSON, "ebs-efs", "EBS", MEDIUM, 20),
        ("saa-ebs-2", "gp3 or io2 for this database?", QUESTION, "ebs-efs", "EBS", HARD, 4),
        ("saa-s3-1", "S3 buckets, objects and consistency", LESSON, "s3", "S3", EASY, 20),
        ("saa-s3-2", "S3 storage classes quiz", QUIZ, "s3", "S3", MEDIUM, 15),
        ("saa-s3-3", "Static site on S3 and CloudFront", LAB, "s3 cloudfront", "S3", MEDIUM, 45),
        ("saa-s3-4", "Multipart upload and prefixes", QUESTION, "s3", "S3", HARD, 5),
        ("saa-s3-5", "Bucket policies and access points", QUESTION, "s3 iam", "S3", MEDIUM, 5),
        ("saa-ddb-1", "DynamoDB keys and capacity modes", LESSON, "dynamodb", "DynamoDB", MEDIUM,
         25),
        ("saa-ddb-2", "DAX or ElastiCache?", QUESTION, "dynamodb", "DynamoDB", HARD, 5),
        ("saa-cf-1", "Caching at the edge with CloudFront", LESSON, "cloudfront", "CloudFront",
         MEDIUM, 20),
        ("saa-lambda-1", "Serverless compute with Lambda", LESSON, "lambda", "Lambda", EASY, 20),
        ("saa-lambda-2", "Lambda concurrency limits", QUESTION, "lambda", "Lambda", HARD, 5),
        ("saa-perf-quiz", "High-performing architectures quiz", QUIZ, "ec2 s3", "EC2", MEDIUM,
         20),
        ("saa-perf-practice", "Storage and database practice set", PRACTICE, "dynamodb ebs-efs",
         "DynamoDB", HARD, 30),
    )),
    (SAA, "SAA 4: Cost-optimized architectures", (
        ("saa-cost-1", "On-Demand, Savings Plans and Spot", LESSON, "ec2-pricing", "EC2", EASY,
         20),
        ("saa-cost-2", "When Spot instances fit", QUESTION, "ec2-pricing", "EC2", MEDIUM, 4),
        ("saa-cost-3", "S3 lifecycle rules to cut storage cost", LESSON, "s3 cost-explorer", "S3",
         MEDIUM, 15),
        ("saa-cost-4", "Cost Explorer and AWS Budgets", LESSON, "cost-explorer", "Billing", EASY,
         15),
        ("saa-cost-5", "Right-size a fleet with Compute Optimizer", LAB,
         "cost-explorer ec2-pricing", "Billing", HARD, 40),
        ("saa-cost-6", "Data transfer costs between AZs", QUESTION, "cost-explorer", "Billing",
         HARD, 5),
        ("saa-cost-quiz", "Cost-optimized architectures quiz", QUIZ, "ec2-pricing cost-explorer",
         "Billing", MEDIUM, 20),
        ("saa-cost-practice", "Cost optimisation practice set", PRACTICE, "ec2-pricing s3", "EC2",
         HARD, 30),
    )),
    (CCP, "CCP: Cloud Practitioner essentials", (
        ("ccp-1", "What is cloud computing?", LESSON, "cloud-concepts", "Cloud Concepts", EASY,
         15),
        ("ccp-2", "The six advantages of cloud", QUESTION, "cloud-concepts", "Cloud Concepts",
         EASY, 3),
        ("ccp-3", "The shared responsibility model", LESSON, "shared-responsibility", "Security",
         EASY, 15),
        ("ccp-4", "Who patches the guest OS?", QUESTION, "shared-responsibility", "Security", EASY,
         3),
        ("ccp-5", "IAM basics for everyone", LESSON, "iam", "IAM", EASY, 15),
        ("ccp-6", "Core services tour: EC2, S3 and RDS", LESSON, "ec2 s3", "EC2", EASY, 20),
        ("ccp-7", "Pick the right storage service", QUESTION, "s3", "S3", EASY, 4),
        ("ccp-8", "Pricing models and the Free Tier", LESSON, "billing-support", "Billing", EASY,
         15),
        ("ccp-9", "Which support plan?", QUESTION, "billing-support", "Billing", EASY, 3),
        ("ccp-10", "Cloud Practitioner quiz", QUIZ, "cloud-concepts billing-support", "Billing",
         EASY, 20),
        ("ccp-11", "Cloud Practitioner practice exam", PRACTICE, "shared-responsibility ec2",
         "Security", MEDIUM, 45),
    )),
)
# fmt: on

CONTENT: tuple[ContentItem, ...] = tuple(
    ContentItem(
        id=item_id,
        title=title,
        kind=kind,
        skill_ids=tuple(skills.split()),
        category=category,
        difficulty=difficulty,
        certification=certification,
        module=module,
        estimated_minutes=minutes,
    )
    for certification, module, rows in _MODULES
    for item_id, title, kind, skills, category, difficulty, minutes in rows
)
_ITEMS = {item.id: item for item in CONTENT}
_SAA_PATH = tuple(item.id for item in CONTENT if item.certification == SAA)
_CCP_PATH = tuple(item.id for item in CONTENT if item.certification == CCP)

# ---------------------------------------------------------------------------------------------
# The learners
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyHabit:
    """How a learner studies on one kind of day (weekday or weekend)."""

    chance: float  # of studying at all that day
    new_items: tuple[int, int]  # how many items further down the path (inclusive range)
    reviews: tuple[int, int]  # how many items already met to practise again


@dataclass(frozen=True)
class DemoLearner:
    """Who a demo learner is and how they study."""

    learner: Learner
    path: tuple[str, ...]  # content ids in the order this learner takes them
    weekday: StudyHabit
    weekend: StudyHabit
    first_hour: tuple[int, int]  # local hour range in which the day's study starts
    ability: float  # chance of answering a medium question right on day one
    growth: float  # how much that chance has risen by the last day of the window
    weak_skills: dict[str, float] = field(default_factory=dict)  # skill -> lower chance
    joined_days_ago: int | None = None  # None: active from the window's first day
    missed_days_ago: frozenset[int] = frozenset()


PROFILES: tuple[DemoLearner, ...] = (
    # Steady: a little every morning before work; one missed day early on, so a long streak.
    DemoLearner(
        learner=Learner("demo-ada", "Ada Lovelace", "Europe/London"),
        path=_SAA_PATH,
        weekday=StudyHabit(1.0, (1, 1), (3, 5)),
        weekend=StudyHabit(1.0, (1, 2), (3, 5)),
        first_hour=(7, 8),
        ability=0.68,
        growth=0.2,
        missed_days_ago=frozenset({37}),
    ),
    # Crammer: long weekend sessions, the odd question on a weekday lunch break.
    DemoLearner(
        learner=Learner("demo-grace", "Grace Hopper", "America/New_York"),
        path=_SAA_PATH,
        weekday=StudyHabit(0.2, (0, 1), (1, 2)),
        weekend=StudyHabit(0.95, (3, 5), (12, 18)),
        first_hour=(10, 13),
        ability=0.62,
        growth=0.15,
    ),
    # Beginner: joined a month ago, Cloud Practitioner first, evenings; networking and IAM hurt.
    DemoLearner(
        learner=Learner("demo-alan", "Alan Turing", "Asia/Tokyo"),
        path=_CCP_PATH + _SAA_PATH,
        weekday=StudyHabit(0.6, (1, 2), (1, 3)),
        weekend=StudyHabit(0.5, (1, 2), (2, 4)),
        first_hour=(19, 20),
        ability=0.5,
        growth=0.2,
        weak_skills={"vpc": 0.3, "iam": 0.25},
        joined_days_ago=30,
    ),
    # Near the finish: fast through the SAA track; its last four items are still to do.
    DemoLearner(
        learner=Learner("demo-katherine", "Katherine Johnson", "Australia/Sydney"),
        path=_SAA_PATH[:-4],
        weekday=StudyHabit(0.85, (1, 3), (3, 5)),
        weekend=StudyHabit(0.7, (1, 2), (4, 6)),
        first_hour=(6, 7),
        ability=0.76,
        growth=0.12,
    ),
)

# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------

_DIFFICULTY_BONUS = {EASY: 0.12, MEDIUM: 0.0, HARD: -0.15}
_PRACTICE_BONUS_STEP = 0.01  # each answer on a skill helps a little...
_PRACTICE_BONUS_CAP = 0.12  # ...up to this much
_LATEST_START = time(22, 30)  # no new item after this local time: demo learners sleep
_SITTING = timedelta(minutes=50)  # then a break and a new practice session
_ANSWERABLE = frozenset({QUESTION, QUIZ, PRACTICE})


@dataclass(frozen=True)
class DemoSummary:
    skills: int
    content_items: int
    learners: int
    events: int  # demo events up to `now`, recorded now or before
    recorded: int = 0  # of those, how many this call stored (0 on a re-run: all replayed)


class DemoSeedError(RuntimeError):
    """A demo event was refused, typically a re-run on another day (see the module doc)."""


async def seed_demo(
    repos: Repositories, recorder: Recorder, *, now: datetime, weeks: int = 6, seed: int = 7
) -> DemoSummary:
    """Upserts the demo catalog and learners, then records `weeks` weeks of events up to `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    for skills in _chunks(SKILLS, MAX_UPSERT):
        await upsert_skills(repos, skills)
    for items in _chunks(CONTENT, MAX_UPSERT):
        await upsert_content(repos, items)
    # Before the events: a learner first seen through an event would get UTC days.
    for profile in PROFILES:
        await upsert_learner(repos, LearnerChanges.replacing(profile.learner))

    histories = demo_events(now=now, weeks=weeks, seed=seed)
    await _check_same_story(repos, histories)
    recorded = 0
    # One learner per batch, oldest first: the order of one learner's answers is what their
    # mastery depends on, while learners are independent. Batches of a single learner are also
    # cheaper to store: their lookups are keyed by one learnerId (measured on SecantusDB: 3 s
    # against 9 s for the same events sent in global time order).
    for drafts in histories.values():
        for chunk in _chunks(drafts, MAX_BATCH):
            for result in await recorder.record_many(chunk, received_at=now):
                if result.error is not None:
                    raise DemoSeedError(
                        f"demo event {result.event_id} of {result.learner_id} was refused: "
                        f"{result.error}"
                    ) from result.error
                recorded += result.recorded
    return DemoSummary(
        skills=len(SKILLS),
        content_items=len(CONTENT),
        learners=len(PROFILES),
        events=sum(len(drafts) for drafts in histories.values()),
        recorded=recorded,
    )


async def _check_same_story(repos: Repositories, histories: dict[str, list[EventDraft]]) -> None:
    """Refuses, before storing anything, a run whose events differ from those already stored.

    A run on another day shifts every learner's window, so already each learner's first event
    differs. Left to the recorder, the clashing ids would fail one by one while the ids past the
    earlier run's last one were stored: two stories mixed into one history.
    """
    firsts = [drafts[0] for drafts in histories.values() if drafts]
    stored = await repos.events.find_by_keys([(d.learner_id, d.event_id) for d in firsts], None)
    for draft in firsts:
        earlier = stored.get((draft.learner_id, draft.event_id))
        if earlier is not None and earlier.fingerprint != fingerprint(draft):
            raise DemoSeedError(
                f"demo event {draft.event_id} of {draft.learner_id} was refused: the stored demo "
                "data was seeded for another day (or seed); seed a fresh database instead"
            )


def demo_events(*, now: datetime, weeks: int = 6, seed: int = 7) -> dict[str, list[EventDraft]]:
    """Each demo learner's events up to `now`, oldest first, by learner id."""
    histories: dict[str, list[EventDraft]] = {}
    for profile in PROFILES:
        events = _Learning(profile, seed, weeks, now).events()
        histories[profile.learner.id] = [
            draft for draft in events if draft.occurred_at is not None and draft.occurred_at <= now
        ]
    return histories


class _Learning:
    """Plays one learner's weeks day by day, writing down what they would send."""

    def __init__(self, profile: DemoLearner, seed: int, weeks: int, now: datetime) -> None:
        self.profile = profile
        self.learner_id = profile.learner.id
        self.zone = ZoneInfo(profile.learner.time_zone)
        # One stream per learner (a str seed is hashed stably, unlike hash()): adding a learner
        # or changing one's habits leaves the others' events untouched.
        self.rng = random.Random(f"{seed}:{self.learner_id}")
        self.today = now.astimezone(self.zone).date()
        self.days = weeks * 7
        self.next_in_path = 0
        self.met: list[str] = []  # answerable items started, for reviews
        self.done: set[str] = set()
        self.mastered: set[str] = set()
        self.answers: dict[str, int] = {}  # per skill
        self.drafts: list[EventDraft] = []
        self.sittings = 0
        self.clock = datetime.min.replace(tzinfo=UTC)
        self.sitting_started = self.clock
        self.progress = 0.0  # 0 on the window's first day, 1 on its last

    def events(self) -> list[EventDraft]:
        profile = self.profile
        active_days = self.days if profile.joined_days_ago is None else profile.joined_days_ago
        for index in range(self.days):
            days_ago = self.days - 1 - index
            day = self.today - timedelta(days=days_ago)
            habit = profile.weekend if day.weekday() >= 5 else profile.weekday
            # Draw every number of the day before deciding to skip it, so that one day's choice
            # does not shift the random stream of all the days after it.
            studies = self.rng.random() < habit.chance
            new_items = self.rng.randint(*habit.new_items)
            reviews = self.rng.randint(*habit.reviews)
            start = time(self.rng.randint(*profile.first_hour), self.rng.randrange(60))
            if not studies or days_ago >= active_days or days_ago in profile.missed_days_ago:
                continue
            self.progress = index / max(1, self.days - 1)
            self._study_day(day, start, new_items, reviews)
        return self.drafts

    def _study_day(self, day: date, start: time, new_items: int, reviews: int) -> None:
        self.clock = datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC)
        self._new_sitting()
        latest = datetime.combine(day, _LATEST_START, tzinfo=self.zone).astimezone(UTC)
        # Reviews first (warm-up on what was met before), then new material.
        plan = [self.rng.choice(self.met) for _ in range(reviews)] if self.met else []
        path = self.profile.path
        while new_items > 0 and self.next_in_path < len(path):
            plan.append(path[self.next_in_path])
            self.next_in_path += 1
            new_items -= 1
        for item_id in plan:
            if self.clock > latest:
                break
            if self.clock - self.sitting_started > _SITTING:
                self.clock += timedelta(minutes=self.rng.randint(10, 30))
                self._new_sitting()
            self._take(_ITEMS[item_id])
            self.clock += timedelta(seconds=self.rng.randint(5, 60))

    def _new_sitting(self) -> None:
        self.sittings += 1
        self.sitting_started = self.clock

    def _take(self, item: ContentItem) -> None:
        first_time = item.id not in self.met and item.id not in self.done
        if first_time:
            self._emit(item, EventType.VIEWED, seconds=self.rng.randint(15, 60))
            if item.kind in _ANSWERABLE:
                self.met.append(item.id)
        if item.kind is LESSON:
            self._emit(item, EventType.STARTED)
            minutes = item.estimated_minutes or 15
            self._complete(item, seconds=round(minutes * 60 * self.rng.uniform(0.7, 1.4)))
        elif item.kind is QUESTION:
            self._question(item, first_time=first_time)
        elif item.kind is LAB:
            self._lab(item)
        else:
            self._question_set(item)

    def _question(self, item: ContentItem, *, first_time: bool) -> None:
        # Retry until right, at most three times; a miss on all three leaves it in progress.
        for attempt in range(3 if first_time else 1):
            correct = self.rng.random() < self._chance(item)
            self._answer(item, correct, 1.0 if correct else 0.0, self.rng.randint(45, 180))
            if correct:
                if item.id not in self.done:
                    self._complete(item, seconds=0)
                elif attempt == 0 and self.rng.random() < 0.35:
                    self._master(item)  # right again at review: the learner owns it
                return

    def _lab(self, item: ContentItem) -> None:
        self._emit(item, EventType.STARTED)
        minutes = item.estimated_minutes or 30
        seconds = round(minutes * 60 * self.rng.uniform(0.8, 1.5))
        # The lab's closing check is scored, not right or wrong.
        score = self._score(item)
        self._answer(item, None, score, seconds)
        self._complete(item, seconds=self.rng.randint(10, 40), score=score)

    def _question_set(self, item: ContentItem) -> None:
        """A quiz (right or wrong per question) or a practice set (a score per exercise)."""
        self._emit(item, EventType.STARTED)
        scores = []
        questions = self.rng.randint(5, 8) if item.kind is QUIZ else self.rng.randint(3, 5)
        for _ in range(questions):
            if item.kind is QUIZ:
                correct = self.rng.random() < self._chance(item)
                score = 1.0 if correct else 0.0
                self._answer(item, correct, score, self.rng.randint(45, 150))
            else:
                score = self._score(item)
                self._answer(item, None, score, self.rng.randint(90, 300))
            scores.append(score)
        overall = round(sum(scores) / len(scores), 2)
        self._complete(item, seconds=self.rng.randint(10, 30), score=overall)
        if overall >= 0.9:
            self._master(item)

    def _chance(self, item: ContentItem) -> float:
        """The chance of a right answer: ability, grown over the window and by practice."""
        profile = self.profile
        skills = item.skill_ids or ("",)
        bonus = sum(
            min(_PRACTICE_BONUS_CAP, self.answers.get(skill, 0) * _PRACTICE_BONUS_STEP)
            - profile.weak_skills.get(skill, 0.0)
            for skill in skills
        ) / len(skills)
        difficulty = _DIFFICULTY_BONUS[item.difficulty or MEDIUM]
        chance = profile.ability + profile.growth * self.progress + bonus + difficulty
        return min(0.97, max(0.05, chance))

    def _score(self, item: ContentItem) -> float:
        return round(min(1.0, max(0.0, self.rng.gauss(self._chance(item), 0.12))), 2)

    def _answer(self, item: ContentItem, correct: bool | None, score: float, seconds: int) -> None:
        for skill in item.skill_ids:
            self.answers[skill] = self.answers.get(skill, 0) + 1
        self._emit(item, EventType.ANSWERED, seconds=seconds, score=score, correct=correct)

    def _complete(self, item: ContentItem, *, seconds: int, score: float | None = None) -> None:
        self._emit(item, EventType.COMPLETED, seconds=seconds, score=score)
        self.done.add(item.id)

    def _master(self, item: ContentItem) -> None:
        if item.id not in self.mastered:
            self._emit(item, EventType.MASTERED)
            self.mastered.add(item.id)

    def _emit(
        self,
        item: ContentItem,
        event_type: EventType,
        *,
        seconds: int = 0,
        score: float | None = None,
        correct: bool | None = None,
    ) -> None:
        # The time is spent, then the event is reported: it occurs at the end of that time (and
        # at least a second after the one before, so that no two events of a learner tie).
        self.clock += timedelta(seconds=max(1, seconds))
        self.drafts.append(
            EventDraft(
                learner_id=self.learner_id,
                # Numbered in the order generated, which the window's end only cuts short: a
                # later run on the same day gives the earlier events the same ids.
                event_id=f"{self.learner_id}-{len(self.drafts) + 1}",
                type=event_type,
                content_id=item.id,
                score=score,
                correct=correct,
                time_spent_seconds=seconds,
                occurred_at=self.clock,
                session_id=f"{self.learner_id}-s{self.sittings}",
            )
        )


T = TypeVar("T")


def _chunks(values: Sequence[T], size: int) -> list[Sequence[T]]:
    return [values[start : start + size] for start in range(0, len(values), size)]
