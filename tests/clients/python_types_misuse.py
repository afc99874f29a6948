"""Type-checked by python_types_test.sh (mypy): each line marked ERROR must
be refused, and no other."""

from unified_directory import Client, aio


def misuse(client: Client, async_client: aio.Client) -> None:
    me = client.get_me("ia")
    count: int = me.name  # ERROR: a name is a str
    client.get_user("ia")  # ERROR: the user id is missing
    client.get_me(42)  # ERROR: an account id is a str
    for user in client.list_users("ia", page_size="10"):  # ERROR: a number
        print(user.name)
    client.watch("ia", include_snapshot="yes")  # ERROR: a bool
    print(count, async_client.get_me("ia").id)  # ERROR: not awaited
