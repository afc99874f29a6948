"""Links the demo account, reads who it is, lists workspaces, streams every
user, takes a WatchDirectory snapshot, and shows a rich error's details,
against a running server.

  python3 example.py --address 127.0.0.1:50051 --api_key uk_... \\
      --username demo@example.com --password demo-password \\
      [--ca_file ca.pem [--cert_file client.pem --key_file client.key]]
"""

import argparse
import sys

import grpc

import unified_client
from google.protobuf import field_mask_pb2
from proto.unified.v1 import (integrated_accounts_pb2, user_directory_pb2)


def show_error(step, error):
    d = unified_client.error_details(error)
    delay = d["retry_delay_seconds"]
    print("%s error: %s reason=%s retry_delay=%s" %
          (step, d["code"], d["reason"],
           "none" if delay is None else "%gs" % delay))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--api_key", required=True)
    parser.add_argument("--username", default="demo@example.com")
    parser.add_argument("--password", default="demo-password")
    parser.add_argument("--ca_file", help="TLS: the server's CA (PEM)")
    parser.add_argument("--cert_file", help="mTLS: this client's certificate")
    parser.add_argument("--key_file", help="mTLS: its private key")
    parser.add_argument("--server_name",
                        help="TLS: the name in the server's certificate")
    args = parser.parse_args()
    client = unified_client.Client(args.address, args.api_key, args.ca_file,
                                   args.cert_file, args.key_file,
                                   args.server_name)

    account = client.call(
        client.accounts.LinkWithPassword,
        integrated_accounts_pb2.LinkWithPasswordRequest(
            username=args.username, password=args.password))
    print("linked account %s as %s %s (%s)" %
          (account.id, account.provider_ref_type, account.provider_ref_id,
           integrated_accounts_pb2.IntegratedAccount.Status.Name(
               account.status)))

    try:
        me = client.call(client.directory.GetMe,
                         user_directory_pb2.GetMeRequest(
                             integrated_account_id=account.id))
        print("me: %s (%s)" % (me.name, me.id))
    except grpc.RpcError as error:
        show_error("GetMe", error)

    workspaces = client.call(
        client.directory.ListWorkspaces,
        user_directory_pb2.ListWorkspacesRequest(
            integrated_account_id=account.id, limit=500))
    # total_size is set only where the source reports the listing's size.
    print("workspaces: %d of %s" %
          (len(workspaces.result), workspaces.total_size
           if workspaces.HasField("total_size") else "unknown"))
    for workspace in workspaces.result[:3]:
        print("  workspace %s %s" % (workspace.id, workspace.name))

    users = pages = 0
    for page in client.stream(
            client.directory.StreamUsers,
            user_directory_pb2.ListUsersRequest(
                integrated_account_id=account.id, limit=100)):
        pages += 1
        users += len(page.result)
    print("streamed users: %d in %d pages" % (users, pages))

    # A typeahead: a part of a name or an e-mail, any case.
    found = client.call(client.directory.ListUsers,
                        user_directory_pb2.ListUsersRequest(
                            integrated_account_id=account.id, query="Brown",
                            limit=100)).result
    matching = all("brown" in u.name.lower() or
                   any("brown" in e.email.lower() for e in u.emails)
                   for u in found)
    print('search "Brown": %d users, %s' %
          (len(found), "each matching" if matching else "NOT all matching"))

    # Ids found elsewhere (assignees on items, say) to people, in one call;
    # only the fields needed.
    ids = [u.id for u in found[:3]] + ["5999999999"]
    batch = client.call(client.directory.BatchGetUsers,
                        user_directory_pb2.BatchGetUsersRequest(
                            integrated_account_id=account.id, user_ids=ids,
                            read_mask=field_mask_pb2.FieldMask(
                                paths=["id", "name"])))
    print("batch get: %d users, not found: %s" %
          (len(batch.users), ",".join(batch.not_found_ids)))

    # Watching: the snapshot first (the roster as events), then live changes;
    # a real consumer keeps reading and stores each event's resume_token.
    watch = client.stream(
        client.directory.WatchDirectory,
        user_directory_pb2.WatchDirectoryRequest(
            integrated_account_id=account.id, include_snapshot=True))
    kinds = {}
    token = ""
    for event in watch:
        kinds[event.type] = kinds.get(event.type, 0) + 1
        if event.type == user_directory_pb2.DirectoryEvent.SNAPSHOT_COMPLETE:
            token = event.resume_token
            break
    watch.cancel()
    event_type = user_directory_pb2.DirectoryEvent
    print("watch snapshot: %d workspaces, %d members, %d organization "
          "members, resume token %s..." %
          (kinds.get(event_type.WORKSPACE_ADDED, 0),
           kinds.get(event_type.MEMBER_ADDED, 0),
           kinds.get(event_type.ORG_MEMBER_ADDED, 0), token[:8]))

    try:
        client.call(client.directory.ListUsers,
                    user_directory_pb2.ListUsersRequest(
                        integrated_account_id=account.id,
                        cursor="not-a-cursor"))
    except grpc.RpcError as error:
        show_error("ListUsers", error)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
