// What the Node.js package tests share: clients of the fixture's service
// (tools/fixture), and its restart. SIGUSR1 to the fixture kills the service
// and starts it again on the same ports.
'use strict';

const assert = require('node:assert/strict');
const {Client} = require('unified-directory-client');

const env = process.env;

function newClient() {
  return new Client(env.UNIFIED_ADDR, env.UNIFIED_API_KEY);
}

// A watch held open on a channel of its own: it ends when the service dies,
// the sign that a kill has happened. Resolves once the watch is open; then
// restart() has the fixture kill the service and start it again, and
// resolves once the old process is gone.
async function watchService() {
  const watcher = newClient();
  const watch = watcher.directory.WatchDirectory(
      {integrated_account_id: env.UNIFIED_ACCOUNT, include_snapshot: true},
      watcher.keyMetadata());
  const ended = new Promise((resolve) => {
    watch.on('error', resolve);
    watch.on('end', () => resolve(null));
  });
  await new Promise((resolve) => watch.once('data', resolve));
  return {
    async restart() {
      process.kill(Number(env.UNIFIED_FIXTURE_PID), 'SIGUSR1');
      const error = await ended;
      assert.equal(error && error.code, 14 /* UNAVAILABLE */);
      watcher.close();
    },
  };
}

module.exports = {env, newClient, watchService};
