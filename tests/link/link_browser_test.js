// The connect flow in a real browser: headless Chromium (Debian's) driven by
// puppeteer-core, against a fixture whose Podio simulator shows a consent
// page and whose service also serves a SCIM simulator (BUILD). A SaaS test
// page, served from another loopback origin, loads the frontend SDK
// (tools/clients/link) and opens link sessions the test creates through the
// Node client, as a SaaS backend would.
'use strict';

const assert = require('node:assert/strict');
const {execFileSync} = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const test = require('node:test');

const root = path.join(process.env.TEST_SRCDIR, process.env.TEST_WORKSPACE);
const puppeteer = require(
    path.join(root, 'tools/clients/link/node_modules/puppeteer-core'));
const {Client} = require(path.join(root, 'tools/clients/node/client.js'));

const env = process.env;
const sdk = fs.readFileSync(path.join(root, 'tools/clients/link/index.js'));
const APP_PAGE = `<!doctype html><html><body>
<button id="connect">Connect</button><pre id="result"></pre>
<script src="/sdk.js"></script>
<script>
document.getElementById('connect').addEventListener('click', () => {
  const url = new URLSearchParams(location.search).get('link');
  const show = (text) => { document.getElementById('result').textContent = text; };
  UnifiedLink.openLink({url, timeoutMs: 60000,
    onSuccess: (r) => show('success ' + JSON.stringify(r)),
    onExit: (r) => show('exit ' + JSON.stringify(r))});
  // A message forged by another window: not the popup, not the page's
  // origin. openLink must ignore it.
  window.postMessage({source: 'unified-link', type: 'success',
                      integrated_account_id: 'ia_forged'}, '*');
});
</script></body></html>`;

// The SaaS side: the test page, the SDK, the return page and a webhook
// receiver, on a loopback origin of its own.
function startApp() {
  const webhooks = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://app');
    if (url.pathname === '/webhook') {
      let body = '';
      req.on('data', (chunk) => body += chunk);
      req.on('end', () => {
        webhooks.push(body);
        res.writeHead(204).end();
      });
      return;
    }
    const pages = {'/app.html': ['text/html', APP_PAGE],
                   '/sdk.js': ['text/javascript', sdk],
                   '/done': ['text/plain', 'returned']};
    const page = pages[url.pathname];
    if (!page) return res.writeHead(404).end();
    res.writeHead(200, {'Content-Type': page[0]}).end(page[1]);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({server, webhooks,
             origin: `http://127.0.0.1:${server.address().port}`});
  }));
}

let app;
let browser;
let client;
const linkTokens = [];

async function linkSession(fields) {
  const session = await client.call(client.accounts, 'CreateLinkSession', {
    end_customer_id: 'cust-browser', display_name: 'Test App',
    return_url: `${app.origin}/done`, state: 'st-1', ...fields});
  assert.match(session.url, /^http:\/\/127\.0\.0\.1:\d+\/link\?link_token=lt_/);
  linkTokens.push(session.link_token);
  return session.url;
}

// Opens the test page, clicks Connect, and gives the popup to `steps`;
// resolves with what the page's callbacks showed.
async function throughPopup(url, steps) {
  const page = await browser.newPage();
  await page.goto(`${app.origin}/app.html?link=${encodeURIComponent(url)}`);
  const popupOpened = new Promise((resolve) => page.once('popup', resolve));
  await page.click('#connect');
  const popup = await popupOpened;
  await steps(popup);
  await page.waitForFunction(
      () => document.getElementById('result').textContent !== '',
      {timeout: 30000});
  const result = await page.$eval('#result', (e) => e.textContent);
  await page.close();
  return result;
}

async function consent(popup, decision) {
  await popup.waitForSelector('#provider-podio');
  await Promise.all([popup.waitForNavigation(), popup.click('#provider-podio')]);
  await popup.waitForSelector(`#${decision}`);  // The simulator's page.
  await popup.click(`#${decision}`);
}

async function waitForWebhook(pattern) {
  for (let i = 0; i < 300; i++) {
    const body = app.webhooks.find((b) => pattern.test(b));
    if (body) return JSON.parse(body);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no webhook matching ${pattern}: ${app.webhooks}`);
}

test.before(async () => {
  app = await startApp();
  client = new Client({address: env.UNIFIED_ADDR, apiKey: env.UNIFIED_API_KEY});
  await client.call(client.accounts, 'SetWebhookEndpoint', {
    url: `${app.origin}/webhook`,
    secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64')});
  browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage']});
});

test.after(async () => {
  if (browser) await browser.close();
  if (client) client.close();
  if (app) app.server.close();
});

test('consent in a popup links, tells the opener, and the webhook carries the customer', async () => {
  const result = await throughPopup(await linkSession({}),
                                    (popup) => consent(popup, 'allow'));
  assert.match(result, /^success /, result);
  const success = JSON.parse(result.slice('success '.length));
  assert.notEqual(success.integratedAccountId, 'ia_forged');
  assert.equal(success.provider, 'podio');
  assert.equal(success.state, 'st-1');
  const account = await client.call(client.accounts, 'GetIntegratedAccount', {
    integrated_account_id: success.integratedAccountId});
  assert.equal(account.end_customer_id, 'cust-browser');
  const listed = await client.call(client.accounts, 'ListIntegratedAccounts', {
    end_customer_id: 'cust-browser'});
  assert.ok(listed.result.some((a) => a.id === success.integratedAccountId));
  // The simulator consents as the fixture's own linked user: the same
  // identity, so the same account, linked again.
  assert.equal(success.integratedAccountId, env.UNIFIED_ACCOUNT);
  const hook = await waitForWebhook(/account\.relinked/);
  assert.equal(hook.data.end_customer_id, 'cust-browser');
  assert.equal(hook.data.integrated_account_id, env.UNIFIED_ACCOUNT);
});

test('denied consent reaches onExit with the reason', async () => {
  const result = await throughPopup(await linkSession({}),
                                    (popup) => consent(popup, 'deny'));
  assert.match(result, /^exit /, result);
  assert.equal(JSON.parse(result.slice('exit '.length)).reason, 'access_denied');
});

test('re-authorization keeps the account id', async () => {
  const url = await linkSession({integrated_account_id: env.UNIFIED_ACCOUNT,
                                 end_customer_id: 'cust-reauth'});
  const result = await throughPopup(url, (popup) => consent(popup, 'allow'));
  assert.match(result, /^success /, result);
  assert.equal(JSON.parse(result.slice(8)).integratedAccountId,
               env.UNIFIED_ACCOUNT);
  const account = await client.call(client.accounts, 'GetIntegratedAccount', {
    integrated_account_id: env.UNIFIED_ACCOUNT});
  assert.equal(account.end_customer_id, 'cust-reauth');
});

test('a used link shows its page, and so does an expired one', async () => {
  const url = await linkSession({});
  await throughPopup(url, (popup) => consent(popup, 'allow'));
  const page = await browser.newPage();
  const used = await page.goto(url);
  assert.equal(used.status(), 410);
  assert.match(await page.$eval('#message', (e) => e.textContent), /used already/);
  assert.match(await page.$eval('#back', (e) => e.href),
               /\/done\?error=link_used&state=st-1$/);

  // Time moved past the session's end: the store says so (the service's
  // clock is the real one).
  const expiring = await linkSession({ttl_seconds: 60});
  const token = new URL(expiring).searchParams.get('link_token');
  execFileSync('/usr/bin/python3', ['-c', `
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
db.execute("UPDATE link_sessions SET expires_ms = 1 WHERE token_hash = ?",
           (hashlib.sha256(sys.argv[2].encode()).hexdigest(),))
db.commit()
assert db.total_changes == 1
`, path.join(env.UNIFIED_FIXTURE_DIR, 'accounts.db'), token]);
  const expired = await page.goto(expiring);
  assert.equal(expired.status(), 410);
  assert.match(await page.$eval('#message', (e) => e.textContent), /expired/);
  await page.close();
});

test('without JavaScript the redirect flow links and returns', async () => {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setJavaScriptEnabled(false);
  await page.goto(await linkSession({state: 'no-js'}));
  await Promise.all([page.waitForNavigation(), page.click('#provider-podio')]);
  await Promise.all([page.waitForNavigation(), page.click('#allow')]);
  const back = new URL(page.url());
  assert.equal(back.origin + back.pathname, `${app.origin}/done`);
  assert.equal(back.searchParams.get('integrated_account_id'),
               env.UNIFIED_ACCOUNT);
  assert.equal(back.searchParams.get('state'), 'no-js');
  await context.close();
});

test('the SCIM token form refuses a bad token and links with a good one', async () => {
  const page = await browser.newPage();
  await page.goto(await linkSession({providers: ['scim'], state: 'scim'}));
  await Promise.all([page.waitForNavigation(), page.click('#provider-scim')]);
  await page.type('#credential', 'not-the-token');
  const refused = await Promise.all([page.waitForNavigation(),
                                     page.click('#submit')]);
  assert.equal(refused[0].status(), 422);
  assert.match(await page.$eval('#error', (e) => e.textContent), /refused/);
  await page.type('#credential', env.UNIFIED_SCIM_TOKEN);
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  const back = new URL(page.url());
  assert.equal(back.origin + back.pathname, `${app.origin}/done`);
  const id = back.searchParams.get('integrated_account_id');
  assert.match(id, /^ia_/);
  const account = await client.call(client.accounts, 'GetIntegratedAccount', {
    integrated_account_id: id});
  assert.equal(account.provider, 'scim');
  assert.equal(account.end_customer_id, 'cust-browser');
  const hook = await waitForWebhook(new RegExp(`account\\.linked.*${id}`));
  assert.equal(hook.data.end_customer_id, 'cust-browser');
  await page.close();
});

test('the service logged no link token and no credential', () => {
  const log = fs.readFileSync(path.join(env.UNIFIED_FIXTURE_DIR, 'server.log'),
                              'utf8');
  assert.ok(log.length > 0);
  assert.ok(linkTokens.length >= 6);
  for (const secret of [...linkTokens, env.UNIFIED_SCIM_TOKEN]) {
    assert.ok(!log.includes(secret), 'the log holds a secret');
  }
});
