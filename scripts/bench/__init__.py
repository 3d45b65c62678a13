"""Cairn's benchmark: ingestion, read cost against history, commands per request, live unlocks,
leaderboards.

    .venv/bin/python -m scripts.bench            (or: make bench; from the repository root)

Everything is measured in one run against a freshly started embedded SecantusDB server in a
temporary folder (removed afterwards), or against ``CAIRN_BENCH_MONGODB_URI`` if set (a database
of its own, dropped afterwards). The GraphQL operations run in-process through
``schema.execute``: parsing, validation and input coercion are included, HTTP is not (section 4
aside: it serves the service over HTTP and WebSocket).
``CAIRN_BENCH_QUICK=1`` makes a short smoke run (``make test`` runs one) whose figures mean little.

1. Batch ingestion (``ingestion``): ``recordEvents`` in batches of 1,000 against a raw motor
   ``insert_many`` of 1,000 equivalent event documents (same indexes, separate collection),
   interleaved; once as offline syncs (one learner per batch) and once with 20 learners mixed in
   every batch. 1b: 50 concurrent requests for one learner.
2. Read cost against history (``reads``): a learner's analytics and last 30 days of activity,
   and the learner dashboard, for a learner with 1,000 events and one with 100,000.
3. Database commands for one request over 200 learners against the same over 2 (``commands``).
4. Unlock latency (``unlocks``), from commit to receipt by real WebSocket clients (in a process
   of their own) of ``achievementUnlocked``, the service served by uvicorn as ``serve`` does it:
   1 and 1,000 subscribers of one learner, and 1,000 subscribers of 1,000 learners, each of whom
   unlocks something in every batch.
5. Leaderboard reads (``leaderboards``): the top 10, the viewer's rank and neighbours, as the
   learner in the middle of a 10,000-learner group and of a 100-learner group.

The runner (``run``) prints a report that ends with a single-line JSON summary, and exits
non-zero when a measure failed (raised, or saw a promise broken, such as a request refused under
contention); a missed performance aim is reported, not a failure.
"""
