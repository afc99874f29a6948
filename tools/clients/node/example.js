// Links the demo account, reads who it is (waiting out Podio's rate limit
// when the server says how long), lists workspaces, streams every user,
// searches, takes a WatchDirectory snapshot, and shows a typed error,
// against a running server.
//
//   node example.js --address=127.0.0.1:50051 --api_key=uk_... \
//       [--username=demo@example.com --password=demo-password]
//       [--ca_file=ca.pem [--cert_file=client.pem --key_file=client.key]]
'use strict';

const {Client, UnifiedError, defaultIncludeDirs} = require('./client');

function flags() {
  const out = {address: '127.0.0.1:50051', username: 'demo@example.com',
               password: 'demo-password', include: ''};
  for (const arg of process.argv.slice(2)) {
    const match = /^--([a-z_]+)=(.*)$/.exec(arg);
    if (match) out[match[1]] = match[2];
  }
  return out;
}

// One line for a UnifiedError.
function showError(step, error, kind = 'error') {
  const delay = error.retryDelayMs === null ? 'none' : `${error.retryDelayMs / 1000}s`;
  console.log(`${step} ${kind}: ${error.code} reason=${error.reason} retry_delay=${delay}`);
}

async function main() {
  const args = flags();
  const includeDirs = args.include ? args.include.split(':') : defaultIncludeDirs();
  const client = new Client(args.address, args.api_key, includeDirs, {
    ca: args.ca_file, cert: args.cert_file, key: args.key_file,
    serverName: args.server_name});

  const account = await client.call(client.accounts, 'LinkWithPassword',
                                    {username: args.username,
                                     password: args.password});
  console.log(`linked account ${account.id} as ${account.provider_ref_type} ` +
              `${account.provider_ref_id} (${account.status})`);

  // A retryable error is tried again after the server's RetryInfo delay,
  // within the call's deadline; onRetry sees each one.
  const me = await client.call(client.directory, 'GetMe',
                               {integrated_account_id: account.id},
                               {onRetry: (error) => showError('GetMe', error, 'retry')});
  console.log(`me: ${me.name} (${me.id})`);

  const workspaces = await client.call(client.directory, 'ListWorkspaces',
                                       {integrated_account_id: account.id,
                                        limit: 500});
  // total_size is set only where the source reports the listing's size.
  console.log(`workspaces: ${workspaces.result.length} of ` +
              `${workspaces.total_size ?? 'unknown'}`);
  for (const workspace of workspaces.result.slice(0, 3)) {
    console.log(`  workspace ${workspace.id} ${workspace.name}`);
  }

  // Every record once, resumed from the last cursor if the stream breaks.
  let users = 0;
  for await (const user of client.records('StreamUsers',
                                          {integrated_account_id: account.id,
                                           limit: 100})) {
    if (user.id) users += 1;
  }
  console.log(`streamed users: ${users}`);

  // A typeahead: a part of a name or an e-mail, any case.
  const found = (await client.call(client.directory, 'ListUsers',
      {integrated_account_id: account.id, query: 'Brown', limit: 100})).result;
  const matching = found.every((u) => u.name.toLowerCase().includes('brown') ||
      u.emails.some((e) => e.email.toLowerCase().includes('brown')));
  console.log(`search "Brown": ${found.length} users, ` +
              (matching ? 'each matching' : 'NOT all matching'));

  // Ids found elsewhere (assignees on items, say) to people, in one call;
  // only the fields needed.
  const batch = await client.call(client.directory, 'BatchGetUsers', {
    integrated_account_id: account.id,
    user_ids: found.slice(0, 3).map((u) => u.id).concat(['5999999999']),
    read_mask: {paths: ['id', 'name']},
  });
  console.log(`batch get: ${batch.users.length} users, ` +
              `not found: ${batch.not_found_ids.join(',')}`);

  // Watching: the snapshot first (the roster as events), then live changes;
  // a real consumer keeps reading and stores each event's resume_token.
  const watch = client.events({integrated_account_id: account.id,
                               include_snapshot: true});
  const kinds = {};
  let token = '';
  for await (const event of watch) {
    kinds[event.type] = (kinds[event.type] || 0) + 1;
    if (event.type === 'SNAPSHOT_COMPLETE') {
      token = event.resume_token;
      break;  // Ends the stream.
    }
  }
  console.log(`watch snapshot: ${kinds.WORKSPACE_ADDED || 0} workspaces, ` +
              `${kinds.MEMBER_ADDED || 0} members, ` +
              `${kinds.ORG_MEMBER_ADDED || 0} organization members, ` +
              `resume token ${token.slice(0, 8)}...`);

  // Not retryable: rejected at once, typed.
  try {
    await client.call(client.directory, 'ListUsers',
                      {integrated_account_id: account.id,
                       cursor: 'not-a-cursor'});
  } catch (error) {
    if (!(error instanceof UnifiedError)) throw error;
    showError('ListUsers', error);
  }
  client.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
