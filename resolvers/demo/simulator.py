"""The study simulator: each demo learner's weeks, played day by day into events.

The events are a function of `now`, `weeks` and `seed` alone. Each learner draws from a random
stream of their own, and every day draws all its numbers whether or not the learner studies that
day, so a change to one learner or one day leaves the rest of the story as it was. The days are
the learner's local calendar days: a later run on the same day gives the same events, plus those
whose time has come since.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.catalog import ContentItem, ContentKind, Difficulty
from domain.events import EventDraft, EventType
from resolvers.demo.catalog import ITEMS
from resolvers.demo.learners import PROFILES, DemoLearner

LESSON, QUESTION, LAB, QUIZ, PRACTICE = (
    ContentKind.LESSON,
    ContentKind.QUESTION,
    ContentKind.LAB,
    ContentKind.QUIZ,
    ContentKind.PRACTICE,
)
EASY, MEDIUM, HARD = Difficulty.BEGINNER, Difficulty.INTERMEDIATE, Difficulty.ADVANCED

_DIFFICULTY_BONUS = {EASY: 0.12, MEDIUM: 0.0, HARD: -0.15}
_PRACTICE_BONUS_STEP = 0.01  # each answer on a skill helps a little...
_PRACTICE_BONUS_CAP = 0.12  # ...up to this much
_LATEST_START = time(22, 30)  # no new item after this local time: demo learners sleep
_SITTING = timedelta(minutes=50)  # then a break and a new practice session
_HELP_CHANCE = 0.1  # a lesson finished is sometimes explained to a peer
_ANSWERABLE = frozenset({QUESTION, QUIZ, PRACTICE})


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
            self._take(ITEMS[item_id])
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
            if self.rng.random() < _HELP_CHANCE:
                # Explaining a lesson just finished to a classmate (peer learning).
                self._emit(item, EventType.HELPED, seconds=self.rng.randint(120, 600))
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
