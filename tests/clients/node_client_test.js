// The Node.js package, installed from its packed tarball
// (node_package_runner.sh), against the real service and simulator started
// by the fixture (tools/fixture). Faults go through the simulator's admin
// URL; the service is restarted as node_fixture.js says.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const {Client, UnifiedError} = require('unified-directory-client');
const {env, newClient, watchService} = require('./node_fixture');

const USERS = 5000;  // The BUILD asks for 5,000 users.

async function addFault(rule) {
  const answer = await fetch(env.UNIFIED_SIM_ADMIN_URL + '/faults', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(rule),
  });
  assert.equal(Math.floor(answer.status / 100), 2, await answer.text());
}

test('a 420 is waited out within the deadline', async () => {
  await addFault({path: '/user/status', kind: 'rate_limit', wait_seconds: 1, times: 1});
  const client = newClient();
  const retries = [];
  const me = await client.call(
      client.directory, 'GetMe', {integrated_account_id: env.UNIFIED_ACCOUNT},
      {timeoutMs: 30000, onRetry: (error, waitMs) => retries.push({error, waitMs})});
  client.close();
  assert.ok(me.id);
  assert.equal(retries.length, 1);
  const {error, waitMs} = retries[0];
  assert.ok(error instanceof UnifiedError);
  assert.equal(error.code, 'RESOURCE_EXHAUSTED');
  assert.equal(error.reason, 'UPSTREAM_RATE_LIMITED');
  assert.ok(error.retryable);
  assert.ok(waitMs > 0);
  assert.equal(waitMs, error.retryDelayMs);
});

test('an error that retrying cannot cure is thrown typed, untried', async () => {
  const client = newClient();
  const retries = [];
  await assert.rejects(
      client.call(client.directory, 'ListUsers',
                  {integrated_account_id: env.UNIFIED_ACCOUNT, cursor: 'forged'},
                  {onRetry: (error) => retries.push(error)}),
      (error) => {
        assert.ok(error instanceof UnifiedError);
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.equal(error.reason, 'INVALID_CURSOR');
        assert.equal(error.retryable, false);
        return true;
      });
  client.close();
  assert.deepEqual(retries, []);
});

test('every user once across a restart of the service', async () => {
  const service = await watchService();
  const client = newClient();
  const retries = [];
  const users = client.records(
      'StreamUsers', {integrated_account_id: env.UNIFIED_ACCOUNT, limit: 100},
      {timeoutMs: 120000, onRetry: (error) => retries.push(error)});
  const ids = [];
  while (ids.length < 100) ids.push((await users.next()).value.id);
  // The rest of the listing (megabytes) cannot all be on its way: flow
  // control holds it at the server while nothing is read.
  await service.restart();
  for await (const user of users) ids.push(user.id);
  client.close();
  assert.equal(ids.length, USERS);
  assert.equal(new Set(ids).size, USERS);
  // The stream broke (the server gone, no answer) and was resumed.
  assert.ok(retries.length > 0);
  for (const error of retries) assert.ok(error.unanswered, String(error));
});

test('plaintext only to loopback', () => {
  assert.throws(() => new Client('192.0.2.1:443', 'key'), /loopback/);
});
