// Client-side balancing of the Node.js client over a cluster's replicas
// (tools/cluster runs this with the cluster's variables set): calls spread
// over every replica, and a killed replica is left out.
// Signals to UNIFIED_FIXTURE_PID (tools/cluster): SIGUSR1 kills replica r0.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const test = require('node:test');
const grpc = require('@grpc/grpc-js');

const root = path.join(process.env.TEST_SRCDIR, process.env.TEST_WORKSPACE);
const {Client} = require(path.join(root, 'tools/clients/node/client.js'));

const env = process.env;
const replicas = env.UNIFIED_REPLICAS.split(',');
const includeDirs = [root, path.join(root, 'tools/protos'), '/usr/include'];

const sides = env.UNIFIED_REPLICAS_HTTP.split(',');

// GetMe calls each replica finished, by its /metrics (null when it is gone).
async function getsServed() {
  return Promise.all(sides.map(async (side) => {
    let text;
    try {
      text = await (await fetch(`http://${side}/metrics`)).text();
    } catch (unused) {
      return null;
    }
    let total = 0;
    for (const line of text.split('\n')) {
      const m = /^unified_rpcs_total\{([^}]*)\} (\S+)$/.exec(line);
      if (m && /(^|,)method="GetMe"/.test(m[1])) total += Number(m[2]);
    }
    return total;
  }));
}

test('calls spread over the replicas and avoid a dead one', async () => {
  const client = new Client(replicas, env.UNIFIED_API_KEY, includeDirs);
  const request = {integrated_account_id: env.UNIFIED_ACCOUNT};
  const before = await getsServed();
  assert.equal(before.length, 3);
  for (let i = 0; i < 30; ++i) {
    assert.ok((await client.call(client.directory, 'GetMe', request)).id);
  }
  const served = (await getsServed()).map((n, i) => n - before[i]);
  assert.ok(served.every((n) => n > 0), JSON.stringify(served));

  // r0 killed: a call held open on it (a watch) ends; then every call is
  // served by the others.
  const watcher = new Client(replicas[0], env.UNIFIED_API_KEY, includeDirs);
  const watch = watcher.directory.WatchDirectory(
      {integrated_account_id: env.UNIFIED_ACCOUNT, include_snapshot: true},
      watcher.keyMetadata());
  const ended = new Promise((resolve) => watch.on('error', resolve));
  await new Promise((resolve) => watch.once('data', resolve));
  process.kill(Number(env.UNIFIED_FIXTURE_PID), 'SIGUSR1');
  assert.equal((await ended).code, grpc.status.UNAVAILABLE);
  watcher.close();
  const after = await getsServed();
  assert.equal(after[0], null);  // r0 is gone.
  for (let i = 0; i < 30; ++i) {
    assert.ok((await client.call(client.directory, 'GetMe', request)).id);
  }
  // The two left served them all (the last count may lag its answer).
  const survivors = (await getsServed()).slice(1).map((n, i) => n - after[i + 1]);
  assert.ok(survivors.every((n) => n > 0), JSON.stringify(survivors));
  assert.ok(survivors[0] + survivors[1] >= 29, JSON.stringify(survivors));
  client.close();
});

test('a list is of IP addresses', () => {
  assert.throws(() => new Client(['localhost:1', 'localhost:2'], 'key', includeDirs),
                /IP addresses/);
});
