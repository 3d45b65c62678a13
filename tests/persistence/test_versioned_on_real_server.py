"""Versioned writes of derived documents against a real server: a replace in a transaction names
the document by `_id` alone, and the server's write-conflict check stands in for the version."""

from __future__ import annotations

import pytest
from pymongo import ReplaceOne
from pymongo.errors import PyMongoError

from persistence.transactions import TRANSIENT, has_label
from persistence.versioned import ConcurrentUpdate, versioned_writes, write_versioned
from tests.persistence.conftest import RealServer

pytestmark = [pytest.mark.real_db, pytest.mark.asyncio(loop_scope="session")]


async def test_a_replace_names_the_version_only_outside_a_transaction() -> None:
    changes = [({"_id": "a", "n": 2}, 1), ({"_id": "b", "n": 1}, None)]

    alone, replaces = versioned_writes(changes)
    in_transaction, _ = versioned_writes(changes, in_transaction=True)

    assert replaces == 1
    assert isinstance(alone[0], ReplaceOne) and isinstance(in_transaction[0], ReplaceOne)
    assert alone[0]._filter == {"_id": "a", "v": 1}
    assert in_transaction[0]._filter == {"_id": "a"}
    assert in_transaction[0]._doc == {"_id": "a", "n": 2, "v": 2}
    assert alone[1]._doc == in_transaction[1]._doc == {"_id": "b", "n": 1, "v": 1}


async def test_a_document_changed_after_the_units_snapshot_is_not_overwritten(
    real: RealServer,
) -> None:
    collection = real.database["versioned_scratch"]
    await collection.insert_one({"_id": "a", "n": 1, "v": 1})
    client = real.database.client
    async with await client.start_session() as session:
        session.start_transaction()
        read = await collection.find_one({"_id": "a"}, session=session)
        assert read is not None
        # Another process writes the document after this unit read it.
        await collection.replace_one({"_id": "a"}, {"n": 5, "v": 2})
        with pytest.raises(PyMongoError) as raised:
            await write_versioned(collection, [({"_id": "a", "n": read["n"] + 1}, 1)], session)
        await session.abort_transaction()

    assert has_label(raised.value, TRANSIENT)  # the runner runs the unit again
    assert await collection.find_one({"_id": "a"}) == {"_id": "a", "n": 5, "v": 2}


async def test_a_document_gone_since_it_was_read_is_a_lost_race(real: RealServer) -> None:
    collection = real.database["versioned_scratch_gone"]
    client = real.database.client
    async with await client.start_session() as session:
        session.start_transaction()
        with pytest.raises(ConcurrentUpdate):
            await write_versioned(collection, [({"_id": "missing", "n": 1}, 3)], session)
        await session.abort_transaction()
