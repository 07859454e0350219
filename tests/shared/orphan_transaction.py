"""A process killed with -9 inside an open transaction that has written one document.

The server keeps such a transaction, and the document it wrote, until the transaction's lifetime ends (~60 s,
as mongod does): what a service replica killed mid-transaction leaves behind. Other writers of that document
meet write conflicts (in a transaction) or wait (outside one) until then.

Run as: python -m tests.shared.orphan_transaction MONGODB_URL DB COLLECTION DOCUMENT_ID
"""

import asyncio
import os
import signal
import sys

from pymongo import AsyncMongoClient

from shared.settings import REPO_ROOT


async def leave_orphaned_transaction(mongodb_url: str, db: str, collection: str, document_id: str) -> None:
    """Run this module in a process of its own and wait until it has died holding the document."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.shared.orphan_transaction",
        mongodb_url,
        db,
        collection,
        document_id,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(holder.communicate(), 60)
    assert holder.returncode == -signal.SIGKILL and b"holding" in stdout, stderr.decode()


async def main(mongodb_url: str, db: str, collection: str, document_id: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url)
    session = client.start_session()
    await session.start_transaction()
    changed = await client[db][collection].update_one(
        {"_id": document_id}, {"$set": {"held_by_a_dead_process": True}}, session=session
    )
    assert changed.matched_count == 1, f"no document {document_id} in {db}.{collection}"
    print("holding", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-transaction: neither committed nor aborted


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
