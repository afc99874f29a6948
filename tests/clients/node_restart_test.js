// The Node.js package across a graceful restart under load, as
// python_restart_test.py: calls and streams run while SIGUSR2 has the
// fixture stop the service (SIGTERM: not ready, drain, grace, exit) and
// start it again on the same port, and a watch stays open. No call fails;
// calls succeed before, during the drain and after; some were retried once
// the server was gone, and the watch was ended with SERVER_SHUTTING_DOWN
// and resumed.
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');
const grpc = require('@grpc/grpc-js');
const {env, newClient} = require('./node_fixture');

// grpc.health.v1 HealthCheckRequest{service: "readiness"}, serialized, and
// the SERVING / NOT_SERVING responses.
const READINESS = Buffer.from('\x0a\x09readiness', 'latin1');
const SERVING = '0801';
const NOT_SERVING = '0802';
const same = (b) => b;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('no call fails across a graceful restart', async () => {
  const client = newClient();
  const account = env.UNIFIED_ACCOUNT;
  let total = 0;
  for await (const _ of client.records(
      'StreamUsers', {integrated_account_id: account, limit: 100})) {
    ++total;
  }
  assert.ok(total > 100, 'streams of several pages');

  const successes = [];
  const failures = [];
  const retried = [];  // The reasons of the errors retried.
  const onRetry = (error) => retried.push(error.reason);
  let stop = false;
  const record = (failure) =>
    failure === undefined ? successes.push(Date.now()) : failures.push(failure);
  // Paced: the account's Podio budget must last the test.
  const unary = async () => {
    while (!stop) {
      try {
        await client.call(client.directory, 'GetMe',
                          {integrated_account_id: account},
                          {timeoutMs: 60000, onRetry});
        await client.call(client.directory, 'ListUsers',
                          {integrated_account_id: account, limit: 50},
                          {timeoutMs: 60000, onRetry});
        record();
      } catch (error) {
        record(String(error));
      }
      await sleep(200);
    }
  };
  const stream = async () => {
    while (!stop) {
      try {
        const ids = [];
        for await (const user of client.records(
            'StreamUsers', {integrated_account_id: account, limit: 100},
            {timeoutMs: 120000, onRetry})) {
          ids.push(user.id);
        }
        if (ids.length !== total || new Set(ids).size !== total) {
          record(`a stream gave ${ids.length} users, not ${total}`);
        } else {
          record();
        }
      } catch (error) {
        record(String(error));
      }
      await sleep(500);
    }
  };
  const events = client.events({integrated_account_id: account},
                                {timeoutMs: 300000, onRetry});
  const watch = (async () => {
    try {
      for await (const _ of events) {
        if (stop) return;
      }
      if (!stop) record('the watch ended');
    } catch (error) {
      if (!stop) record(String(error));
    }
  })();
  const workers = [unary(), unary(), stream()];
  const successesAfter = (t) => successes.filter((s) => s >= t).length;
  const waitForSuccessesAfter = async (t, n) => {
    const end = Date.now() + 120000;
    while (successesAfter(t) < n && Date.now() < end) await sleep(50);
    return successesAfter(t) >= n;
  };

  assert.ok(await waitForSuccessesAfter(0, 5));
  // Readiness on a channel of its own: NOT_SERVING when the drain starts;
  // the watch of it breaks when the process is gone.
  const health = new grpc.Client(env.UNIFIED_ADDR,
                                 grpc.credentials.createInsecure());
  const updates = health.makeServerStreamRequest(
      '/grpc.health.v1.Health/Watch', same, same, READINESS, new grpc.Metadata(),
      {deadline: Date.now() + 120000});
  const seen = [];
  let sawUpdate = null;
  const ended = new Promise((resolve) => {
    updates.on('data', (b) => {
      seen.push(b.toString('hex'));
      if (sawUpdate) sawUpdate();
    });
    updates.on('error', resolve);
    updates.on('end', () => resolve(null));
  });
  const nextUpdate = async (n) => {
    while (seen.length < n) await new Promise((resolve) => { sawUpdate = resolve; });
    return seen[n - 1];
  };
  assert.equal(await nextUpdate(1), SERVING);
  process.kill(Number(env.UNIFIED_FIXTURE_PID), 'SIGUSR2');
  assert.equal(await nextUpdate(2), NOT_SERVING);
  const draining = Date.now();
  await ended;
  const gone = Date.now();
  health.close();
  // Back: a new process answers SERVING.
  const back = new grpc.Client(env.UNIFIED_ADDR,
                               grpc.credentials.createInsecure());
  for (;;) {
    const metadata = new grpc.Metadata();
    metadata.setOptions({waitForReady: true});
    const answer = await new Promise((resolve) => back.makeUnaryRequest(
        '/grpc.health.v1.Health/Check', same, same, READINESS, metadata,
        {deadline: Date.now() + 60000},
        (error, response) => resolve(error ? null : response.toString('hex'))));
    if (answer === SERVING) break;
    await sleep(50);
  }
  back.close();
  const backAt = Date.now();
  const served = await waitForSuccessesAfter(backAt, 5);
  stop = true;
  await Promise.all(workers);
  await events.return();
  await watch;
  client.close();

  assert.deepEqual(failures, []);
  assert.ok(served, 'no call served after the restart');
  assert.ok(successes.some((s) => s >= draining && s < gone),
            'no call was served during the drain');
  assert.ok(retried.includes(null), 'no call crossed the restart');
  assert.ok(retried.includes('SERVER_SHUTTING_DOWN'),
            `the watch was not ended by the stop: ${retried}`);
});
