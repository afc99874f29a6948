// The Node.js package's events(): WatchDirectory resumed across a restart of
// the service from its last resume token, with nothing lost or repeated. Run
// by node_package_runner.sh against a fixture whose service takes Podio's
// hooks and does not poll (the BUILD's server flags), so that each change is
// exactly one event.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const {env, newClient, watchService} = require('./node_fixture');

// Changes a member's workspace role through the proxy on a channel of its
// own, waiting for the service to be up: a write is not retried
// (docs/clients.md).
async function setRole(event, role) {
  const client = newClient();
  const metadata = client.keyMetadata();
  metadata.setOptions({waitForReady: true});  // grpc-js: an option of the metadata.
  try {
    const answer = await new Promise((resolve, reject) => {
      client.proxy.Call(
          {
            integrated_account_id: env.UNIFIED_ACCOUNT,
            method: 'PUT',
            path: `/space/${event.workspace.id}/member/${event.user.id}`,
            headers: [{name: 'Content-Type', value: 'application/json'}],
            body: Buffer.from(JSON.stringify({role})),
          },
          metadata,
          {deadline: Date.now() + 60000},
          (error, response) => error ? reject(error) : resolve(response));
    });
    assert.equal(Math.floor(answer.status / 100), 2, answer.body.toString());
  } finally {
    client.close();
  }
}

test('events resume from the last token across a restart', async () => {
  const client = newClient();
  const retries = [];
  const events = client.events(
      {integrated_account_id: env.UNIFIED_ACCOUNT, include_snapshot: true},
      {timeoutMs: 120000, onRetry: (error) => retries.push(error)});
  const next = async () => {
    const {value, done} = await events.next();
    assert.ok(!done, 'the watch ended');
    return value;
  };
  let member = null;
  let position = null;
  while (position === null) {
    const event = await next();
    if (event.type === 'MEMBER_ADDED' && event.role_id === 'workspace.regular' &&
        member === null) {
      member = event;
    }
    if (event.type === 'SNAPSHOT_COMPLETE') position = BigInt(event.sequence);
  }
  assert.ok(member, 'the snapshot has a regular member');
  const nextChange = async () => {
    for (;;) {
      const event = await next();
      if (event.type !== 'HEARTBEAT') return event;
    }
  };

  const service = await watchService();
  await setRole(member, 'admin');
  const first = await nextChange();
  await service.restart();
  // The next change comes from the new process, once, right after the last
  // one taken: the stream resumed from its resume token.
  await setRole(member, 'regular');
  const second = await nextChange();
  await events.return();
  client.close();

  const seen = [first, second].map((e) => [
    e.type, e.user.id, e.workspace.id, e.role_id, BigInt(e.sequence)]);
  assert.deepEqual(seen, [
    ['ROLE_CHANGED', member.user.id, member.workspace.id, 'workspace.admin',
     position + 1n],
    ['ROLE_CHANGED', member.user.id, member.workspace.id, 'workspace.regular',
     position + 2n],
  ]);
  // The stream broke (the server gone, no answer) and was resumed.
  assert.ok(retries.length > 0);
  for (const error of retries) assert.ok(error.unanswered, String(error));
});
