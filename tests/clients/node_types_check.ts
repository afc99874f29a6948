// Compiled by node_package_runner.sh against the packed package's types:
// every line here must type-check.
import {Client, NotFound, RateLimited, UnifiedError} from 'unified-directory-client';

async function firstCalls(client: Client): Promise<string[]> {
  const me = await client.call(
      client.directory, 'GetMe', {integrated_account_id: 'ia'},
      {timeoutMs: 1000, onRetry: (error: UnifiedError, waitMs: number) => {
        const reason: string | null = error.reason;
        console.log(reason, waitMs, error.retryDelayMs);
      }});
  const names: string[] = [me.id];
  for await (const user of client.records(
      'StreamUsers', {integrated_account_id: 'ia', limit: 100, query: 'ann'})) {
    names.push(user.name);
  }
  for await (const event of client.events({integrated_account_id: 'ia'})) {
    names.push(event.resume_token);
  }
  const linked = await client.call(client.accounts, 'LinkWithPassword',
                                   {username: 'u', password: 'p'});
  names.push(linked.id);
  return names;
}

// The camelCase surface: an options object, pagers, async iterators,
// per-call options and error classes.
async function idioms(): Promise<string[]> {
  const client = new Client({
    address: '127.0.0.1:50051', apiKey: 'key',
    tls: {ca: Buffer.from('pem'), cert: '/path/cert.pem', key: '/path/key.pem'},
    retry: {attempts: 3, initialBackoffMs: 100, reasons: ['UNAVAILABLE']},
  });
  const names: string[] = [];
  const me = await client.getMe('ia', {fields: ['id', 'name'], requestId: 'r-1'});
  names.push(me.name);
  for await (const user of client.listUsers('ia', {query: 'ann', pageSize: 500})) {
    names.push(user.id);
  }
  for await (const page of client.listUsers('ia').pages()) {
    names.push(page.next_cursor);
  }
  for await (const user of client.streamUsers('ia', {organizationId: 'o',
    deadline: new Date(Date.now() + 1000), metadata: {'x-tenant-hint': 'a'}})) {
    names.push(user.username);
  }
  for await (const event of client.watch({accountId: 'ia', includeSnapshot: true})) {
    names.push(event.resume_token);
  }
  const session = await client.createLinkSession({endCustomerId: 'c',
    returnUrl: 'https://app.example/done', providers: ['podio'], timeoutMs: 5000});
  names.push(session.url, session.link_token);
  const status = await client.setWatching('ia', false, {timeoutMs: 1000});
  names.push(String((await client.getWatchStatus('ia')).state === status.state));
  try {
    await client.getUser('ia', 'u');
  } catch (error) {
    if (error instanceof NotFound) names.push(String(error.requestId));
    if (error instanceof RateLimited) names.push(String(error.retryAfterMs));
  }
  return names;
}

export {firstCalls, idioms};
