// Verifies a webhook from the unified directory service (Standard
// Webhooks), with Node's own crypto: the service signs
// `<webhook-id>.<webhook-timestamp>.<body>` with HMAC-SHA256 keyed by the
// base64 part of the endpoint's "whsec_" secret and sends
// "v1,<base64 signature>" in webhook-signature (several, space-separated,
// during a secret rotation). Check the raw body, refuse old timestamps
// (replays) and drop duplicate webhook-ids: delivery is at least once.
//
//   const { verify } = require('./verify_webhook');
//   const event = verify(secret, req.headers, rawBody);  // throws if forged
//
// As a program (for tests):
//   node verify_webhook.js --secret=whsec_... --id=ID --timestamp=TS \
//     --signature=SIG --body-file=FILE [--tolerance=SECONDS]
// prints the event's type and exits 0, or prints why and exits 1.
'use strict';

const crypto = require('crypto');
const fs = require('fs');

function verify(secret, headers, body, tolerance = 300, now = Date.now() / 1000) {
  if (!secret.startsWith('whsec_')) throw new Error('the secret must start with whsec_');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const lower = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = String(v);
  const id = lower['webhook-id'] || '';
  const stamp = lower['webhook-timestamp'] || '';
  const signatures = lower['webhook-signature'] || '';
  if (!id || !/^\d+$/.test(stamp) || !signatures) throw new Error('missing webhook headers');
  if (Math.abs(now - Number(stamp)) > tolerance) {
    throw new Error('timestamp outside the tolerance (a replay?)');
  }
  const signed = Buffer.concat([Buffer.from(`${id}.${stamp}.`), Buffer.from(body)]);
  const expected = Buffer.from(
      crypto.createHmac('sha256', key).update(signed).digest('base64'));
  for (const candidate of signatures.split(' ')) {
    const [version, value] = candidate.split(',', 2);
    const given = Buffer.from(value || '');
    if (version === 'v1' && given.length === expected.length &&
        crypto.timingSafeEqual(given, expected)) {
      return JSON.parse(Buffer.from(body).toString('utf8'));
    }
  }
  throw new Error('no valid signature');
}

function main() {
  const args = {};
  for (const a of process.argv.slice(2)) {
    const m = /^--([^=]+)=(.*)$/s.exec(a);
    if (m) args[m[1]] = m[2];
  }
  const headers = {
    'webhook-id': args.id,
    'webhook-timestamp': args.timestamp,
    'webhook-signature': args.signature,
  };
  try {
    const event = verify(args.secret, headers, fs.readFileSync(args['body-file']),
        Number(args.tolerance || 300));
    console.log(`valid: ${event.type}`);
    return 0;
  } catch (e) {
    console.log(`invalid: ${e.message}`);
    return 1;
  }
}

module.exports = { verify };
if (require.main === module) process.exit(main());
