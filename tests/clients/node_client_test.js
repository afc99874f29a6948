// The Node.js package, installed from its packed tarball
// (node_package_runner.sh), against the real service and simulator started
// by the fixture (tools/fixture). Faults go through the simulator's admin
// URL; the service is restarted as node_fixture.js says.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const {Client, InvalidArgument, NotFound, Pager, RateLimited, UnifiedError} =
    require('unified-directory-client');
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

// The camelCase surface.

function optionsClient(extra = {}) {
  return new Client({address: env.UNIFIED_ADDR, apiKey: env.UNIFIED_API_KEY, ...extra});
}

test('a pager iterates every user across pages, as the stream does', async () => {
  const client = optionsClient();
  const pager = client.listUsers(env.UNIFIED_ACCOUNT, {pageSize: 500, fields: ['id', 'name']});
  assert.ok(pager instanceof Pager);
  const pages = [];
  for await (const page of pager.pages()) pages.push(page);
  // Ten full pages, and perhaps an empty one where the listing learns its end.
  assert.ok(pages.length === USERS / 500 || pages.length === USERS / 500 + 1, `${pages.length}`);
  const ids = [];
  for await (const user of pager) ids.push(user.id);
  assert.deepEqual(ids, pages.flatMap((page) => page.result.map((user) => user.id)));
  assert.equal(new Set(ids).size, USERS);
  assert.ok(pages.filter((p) => p.result.length).every(
      (p) => p.result[0].name && p.result[0].emails.length === 0));
  const streamed = [];
  for await (const user of client.streamUsers(env.UNIFIED_ACCOUNT, {pageSize: 500})) {
    streamed.push(user.id);
  }
  assert.deepEqual(streamed, ids);
  client.close();
});

test('filters are the request fields in camelCase; unknown ones throw', async () => {
  const client = optionsClient();
  const anns = [];
  for await (const user of client.listUsers(env.UNIFIED_ACCOUNT, {query: 'ann'})) {
    anns.push(user.name);
  }
  assert.ok(anns.length > 0);
  assert.ok(anns.every((name) => name.toLowerCase().includes('ann')));
  assert.throws(() => client.listUsers(env.UNIFIED_ACCOUNT, {noSuchFilter: 1}), TypeError);
  const me = await client.getMe(env.UNIFIED_ACCOUNT, {fields: ['id']});
  assert.ok(me.id);
  assert.equal(me.name, '');
  client.close();
});

test('errors are classes, each with its request id; ours is sent', async () => {
  const client = optionsClient();
  await assert.rejects(client.getUser(env.UNIFIED_ACCOUNT, '123', {requestId: 'node-test-1'}),
      (error) => {
        assert.ok(error instanceof NotFound);
        assert.ok(error instanceof UnifiedError);
        assert.equal(error.code, 'NOT_FOUND');
        assert.equal(error.requestId, 'node-test-1');
        return true;
      });
  await assert.rejects(async () => {
    for await (const unused of client.listUsers(env.UNIFIED_ACCOUNT, {cursor: 'forged'})) {
      // Nothing: the first page fails.
    }
  }, (error) => {
    assert.ok(error instanceof InvalidArgument);
    assert.equal(error.reason, 'INVALID_CURSOR');
    assert.ok(error.requestId);
    assert.notEqual(error.requestId, 'node-test-1');
    return true;
  });
  client.close();
});

test('retries are configurable', async () => {
  await addFault({path: '/user/status', kind: 'rate_limit', wait_seconds: 1, times: 1});
  const once = optionsClient({retry: {attempts: 1}});
  await assert.rejects(once.getMe(env.UNIFIED_ACCOUNT), (error) => {
    assert.ok(error instanceof RateLimited);
    assert.equal(error.reason, 'UPSTREAM_RATE_LIMITED');
    assert.ok(error.retryAfterMs > 0);
    return true;
  });
  once.close();
  await addFault({path: '/user/status', kind: 'rate_limit', wait_seconds: 1, times: 1});
  const client = optionsClient();
  assert.ok((await client.getMe(env.UNIFIED_ACCOUNT)).id);
  client.close();
  assert.throws(() => optionsClient({retry: {attempts: 0}}));
});

test('link sessions for a customer', async () => {
  const client = optionsClient();
  const session = await client.createLinkSession({endCustomerId: 'cust-node',
    returnUrl: 'https://app.example/done', state: 's-1', requestId: 'link-1'});
  assert.match(session.url, /\/link\?link_token=lt_/);
  await assert.rejects(
      client.createLinkSession({endCustomerId: 'cust-node',
        returnUrl: 'http://app.example/'}),
      (error) => error instanceof InvalidArgument &&
                 error.reason === 'INVALID_RETURN_URL');
  client.close();
});

test('watching is paused and resumed', async () => {
  const client = optionsClient();
  const paused = await client.setWatching(env.UNIFIED_ACCOUNT, false);
  assert.equal(paused.state, 'PAUSED');
  assert.equal((await client.getWatchStatus(env.UNIFIED_ACCOUNT)).state, 'PAUSED');
  const resumed = await client.setWatching(env.UNIFIED_ACCOUNT, true);
  assert.equal(resumed.state, 'WATCHING');
  client.close();
});

test('watch runs until the caller stops', async () => {
  const client = optionsClient();
  for await (const event of client.watch({accountId: env.UNIFIED_ACCOUNT,
    includeSnapshot: true})) {
    if (event.type === 'SNAPSHOT_COMPLETE') break;  // Stops the stream.
  }
  client.close();
});
