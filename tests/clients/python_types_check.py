"""Type-checked by python_types_test.sh (mypy) against the package's hints:
every line here must pass."""

import asyncio
from typing import List

from unified_directory import (NO_RETRY, Client, NotFound, RateLimited,
                               Retry, aio)
from unified_directory.pagers import Pager
from unified_directory._gen.proto.unified.v1.resources_pb2 import User


def sync_calls(client: Client, account: str) -> List[str]:
    names: List[str] = []
    me: User = client.get_me(account, fields=["id", "name"], request_id="r")
    names.append(me.name)
    pager: Pager[User] = client.list_users(account, query="ann", page_size=100)
    for user in pager:
        names.append(user.id)
    for page in pager.pages:
        names.append(page.next_cursor)
    for streamed in client.stream_users(account, fields=["id"]):
        names.append(streamed.id)
    for event in client.watch(account, include_snapshot=True):
        names.append(event.resume_token)
    try:
        client.get_user(account, "u", timeout=5.0)
    except NotFound as error:
        names.append(str(error.request_id))
    except RateLimited as error:
        names.append(str(error.retry_after))
    session = client.create_link_session("cust-1", "https://app.example/done",
                                         providers=["podio"], state="s")
    names.append(session.url)
    status = client.set_watching(account, False)
    names.append(str(status.state == client.get_watch_status(account).state))
    Client("127.0.0.1:1", "key", retry=Retry(attempts=3)).close()
    Client("127.0.0.1:1", "key", retry=NO_RETRY).close()
    return names


async def async_calls(client: aio.Client, account: str) -> List[str]:
    names: List[str] = []
    me: User = await client.get_me(account, fields=["id"])
    names.append(me.id)
    session = await client.create_link_session("cust-1",
                                               "https://app.example/done")
    names.append(session.link_token)
    async for user in client.list_users(account, query="ann"):
        names.append(user.name)
    async for streamed in client.stream_users(account):
        names.append(streamed.id)
    return names


def run(account: str) -> None:
    with Client("127.0.0.1:1", "key") as client:
        sync_calls(client, account)
    asyncio.run(async_calls(aio.Client("127.0.0.1:1", "key"), account))
