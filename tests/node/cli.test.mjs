// The real Linq CLI 1.3.0 (from the tarball in shared/clients) against a real linq-server process:
// `webhooks listen --forward-to` through the server's relay (reconnecting across a server restart,
// deleting its subscription on SIGINT), `webhooks logs`, `chats create`, `chats participants add`.
// Messages are not served yet, so `linq messages send` is not checked here.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import LinqAPIV3, { NotFoundError } from '@linqapp/sdk';

import { Receiver } from './support/receiver.mjs';
import { LinqServer, newPhone, waitFor } from './support/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const linqBin = path.join(here, 'node_modules/@linqapp/cli/bin/run.js');

/** A CLI home whose profile holds the key, the line and the orgId that only Linq's email login would set. */
function cliHome(server) {
  const home = mkdtempSync(path.join(tmpdir(), 'linq-cli-home-'));
  mkdirSync(path.join(home, '.linq'));
  const profile = { token: server.apiKey, fromPhone: server.lines[0], orgId: 'linq-server' };
  writeFileSync(
    path.join(home, '.linq', 'config.json'),
    JSON.stringify({ version: 2, profile: 'default', profiles: { default: profile } }),
  );
  return { ...process.env, HOME: home, LINQ_TELEMETRY: '0', NO_COLOR: '1', ...server.cliEnv() };
}

function linq(env, ...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [linqBin, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** `linq webhooks listen` as a child process whose output the test watches. */
class Listener {
  constructor(env, ...args) {
    this.output = '';
    this.child = spawn(process.execPath, [linqBin, 'webhooks', 'listen', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk) => { this.output += chunk; });
    this.child.stderr.on('data', (chunk) => { this.output += chunk; });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async saw(pattern, timeoutMs = 30_000) {
    return waitFor(`listen to print ${pattern}\n--- its output so far:\n${this.output}`, () => this.output.match(pattern), { timeoutMs });
  }

  async interrupt() {
    this.child.kill('SIGINT');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const code = await this.exited;
    clearTimeout(killer);
    return code;
  }
}

/** The CLI's own forwarding signature: hex HMAC-SHA256 keyed with the whole `whsec_…` string over `ts.body`. */
const cliSignature = (secret, timestamp, body) => createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

describe('the Linq CLI 1.3.0 against linq-server', () => {
  const server = new LinqServer();
  const forwardedTo = new Receiver();
  let sdk;
  let env;

  before(async () => {
    await Promise.all([server.start(), forwardedTo.start()]);
    sdk = new LinqAPIV3({ apiKey: server.apiKey, baseURL: server.apiURL, maxRetries: 0 });
    env = cliHome(server);
  });

  after(async () => {
    await Promise.all([server.stop(), forwardedTo.stop()]);
  });

  test('chats create and chats participants add', async () => {
    const [alice, bob, carol] = [newPhone(1), newPhone(2), newPhone(3)];
    const created = await linq(env, 'chats', 'create', '--to', alice, '--to', bob, '--message', 'Hi from the CLI', '--json');
    assert.equal(created.code, 0, created.stderr);
    const chatId = JSON.parse(created.stdout).chat.id;
    assert.deepEqual((await sdk.chats.retrieve(chatId)).handles.map((h) => h.handle).filter((h) => h !== server.lines[0]).sort(), [alice, bob].sort());

    const added = await linq(env, 'chats', 'participants', 'add', chatId, '--handle', carol);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, new RegExp(`Added \\${carol} to chat`));
    await waitFor('carol to be active', async () =>
      (await sdk.chats.retrieve(chatId)).handles.some((h) => h.handle === carol && h.status === 'active'));
  });

  test('messages send', async () => {
    const created = await sdk.chats.create({ from: server.lines[0], to: [newPhone(4)], message: { parts: [{ type: 'text', value: 'Hi' }] } });
    const chatId = created.chat.id;
    const sent = await linq(env, 'messages', 'send', chatId, '--message', 'Sent by the CLI', '--json');
    assert.equal(sent.code, 0, sent.stderr);
    const messageId = JSON.parse(sent.stdout).message.id;
    const stored = await sdk.messages.retrieve(messageId);
    assert.equal(stored.chat_id, chatId);
    assert.deepEqual(stored.parts.map((part) => part.value), ['Sent by the CLI']);
  });

  test('webhooks listen forwards participant.added, survives a server restart, deletes its subscription on SIGINT', async () => {
    const listener = new Listener(env, '--forward-to', forwardedTo.url);
    try {
      const [, subscriptionId] = await listener.saw(/Webhook created: (\S+)/);
      const [, secret] = await listener.saw(/Signing secret: (whsec_\S+)/);
      const subscription = await sdk.webhookSubscriptions.retrieve(subscriptionId);
      assert.match(subscription.target_url, new RegExp(`^${server.url}/relay/[\\w-]+$`));

      const chat = (await sdk.chats.create({ from: server.lines[0], to: [newPhone(1), newPhone(2)], message: { parts: [{ type: 'text', value: 'hi' }] } })).chat;
      const first = newPhone(3);
      await sdk.chats.participants.add(chat.id, { handle: first });
      const [hit] = await forwardedTo.events('participant.added', { match: (body) => body.data.handle === first });
      assert.equal(hit.headers['x-webhook-event'], 'participant.added');
      assert.equal(hit.headers['x-webhook-subscription-id'], subscriptionId);
      assert.equal(hit.headers['x-webhook-signature'], cliSignature(secret, hit.headers['x-webhook-timestamp'], hit.body));
      assert.equal(JSON.parse(hit.body).data.chat_id, chat.id);

      await server.stop();
      await server.start();
      await listener.saw(/Reconnected to relay/);
      await waitFor('the subscription to follow the new connection', async () =>
        (await sdk.webhookSubscriptions.retrieve(subscriptionId)).target_url !== subscription.target_url);
      const second = newPhone(4);
      await sdk.chats.participants.add(chat.id, { handle: second });
      const [again] = await forwardedTo.events('participant.added', { match: (body) => body.data.handle === second });
      assert.equal(again.headers['x-webhook-signature'], cliSignature(secret, again.headers['x-webhook-timestamp'], again.body));

      assert.equal(await listener.interrupt(), 0);
      assert.match(listener.output, new RegExp(`Webhook ${subscriptionId} deleted`));
      const gone = await sdk.webhookSubscriptions.retrieve(subscriptionId).catch((e) => e);
      assert.ok(gone instanceof NotFoundError);

      // The logs outlive the subscription: both relayed deliveries are there, as successes.
      const logs = await linq(env, 'webhooks', 'logs', subscriptionId, '--json');
      assert.equal(logs.code, 0, logs.stderr);
      const entries = JSON.parse(logs.stdout).webhook_logs.filter((l) => l.webhook_event_type === 'participant.added');
      assert.ok(entries.length >= 2 && entries.every((l) => l.subscription_id === subscriptionId));
      assert.ok(entries.some((l) => l.status === 'success'));
    } finally {
      if (listener.child.exitCode === null) await listener.interrupt();
    }
  });

  test('webhooks logs prints the attempts, a failed one included', async () => {
    const refusing = await new Receiver({ status: 400 }).start();
    try {
      const created = await linq(env, 'webhooks', 'create', '--url', refusing.url, '--events', 'participant.added', '--json');
      assert.equal(created.code, 0, created.stderr);
      const subscriptionId = JSON.parse(created.stdout).id;
      const chat = (await sdk.chats.create({ from: server.lines[0], to: [newPhone(1), newPhone(2)], message: { parts: [{ type: 'text', value: 'hi' }] } })).chat;
      await sdk.chats.participants.add(chat.id, { handle: newPhone(3) });
      await refusing.events('participant.added');

      const logs = await waitFor('the failed attempt in the logs', async () => {
        const run = await linq(env, 'webhooks', 'logs', subscriptionId);
        return run.code === 0 && /400 Failed/.test(run.stdout) ? run : null;
      });
      assert.match(logs.stdout, /participant\.added/);
      assert.match(logs.stdout, /HTTP 400: refused by the test receiver/);

      const failedOnly = await linq(env, 'webhooks', 'logs', subscriptionId, '--status', 'failed', '--json');
      const entries = JSON.parse(failedOnly.stdout).webhook_logs;
      assert.equal(entries.length, 1);
      assert.deepEqual([entries[0].status, entries[0].http_status_code, entries[0].attempt], ['failed', 400, 1]);
      const succeeded = JSON.parse((await linq(env, 'webhooks', 'logs', subscriptionId, '--status', 'success', '--json')).stdout);
      assert.deepEqual(succeeded.webhook_logs, []);
    } finally {
      await refusing.stop();
    }
  });
});
