// Compiled by node_package_runner.sh against the packed package's types:
// every line here must type-check.
import {Client, UnifiedError} from 'unified-directory-client';

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

export {firstCalls};
