// The official Node SDK (@linqapp/sdk, pinned in package.json) against a real linq-server process.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import LinqAPIV3, { AuthenticationError, BadRequestError, ConflictError, NotFoundError } from '@linqapp/sdk';

import { Receiver } from './support/receiver.mjs';
import { LinqServer, newPhone, waitFor } from './support/server.mjs';

const hello = { parts: [{ type: 'text', value: 'Hello from the Node SDK' }] };

describe('@linqapp/sdk against linq-server', () => {
  const server = new LinqServer();
  const receiver = new Receiver();
  let client;

  before(async () => {
    await Promise.all([server.start(), receiver.start()]);
    client = new LinqAPIV3({ apiKey: server.apiKey, baseURL: server.apiURL, maxRetries: 0 });
  });

  after(async () => {
    await Promise.all([server.stop(), receiver.stop()]);
  });

  const group = async (...handles) => (await client.chats.create({ from: server.lines[0], to: handles, message: hello })).chat;

  /** The Linq error envelope carried by an SDK error. */
  const envelope = (error) => [error.status, error.error?.error?.code];

  test('phone numbers: the partner lines', async () => {
    const { phone_numbers: numbers } = await client.phoneNumbers.list();
    assert.deepEqual(numbers.map((n) => n.phone_number).sort(), [...server.lines].sort());
  });

  test('chats: create, retrieve, list with auto-pagination, update', async () => {
    const created = [];
    for (let i = 0; i < 5; i += 1) created.push(await group(newPhone(1), newPhone(2)));
    const chat = await client.chats.retrieve(created[0].id);
    assert.equal(chat.id, created[0].id);
    assert.equal(chat.is_group, true);

    const seen = [];
    for await (const listed of client.chats.listChats({ limit: 2 })) seen.push(listed.id);
    assert.equal(new Set(seen).size, seen.length, 'auto-pagination repeats no chat');
    for (const { id } of created) assert.ok(seen.includes(id), `chat ${id} listed`);

    const firstPage = await client.chats.listChats({ limit: 2 });
    assert.equal(firstPage.chats.length, 2);
    assert.ok(firstPage.hasNextPage());

    const renamed = await client.chats.update(created[1].id, { display_name: 'Node SDK group' });
    assert.deepEqual([renamed.chat_id, renamed.status], [created[1].id, 'pending']);
    await waitFor('the rename to apply', async () => (await client.chats.retrieve(created[1].id)).display_name === 'Node SDK group');
  });

  test('participants: add → participant.added, verified with the SDK helper; remove → participant.removed', async () => {
    const subscription = await client.webhookSubscriptions.create({
      target_url: receiver.url,
      subscribed_events: ['participant.added', 'participant.removed'],
    });
    try {
      const newcomer = newPhone(3);
      const chat = await group(newPhone(1), newPhone(2));
      const added = await client.chats.participants.add(chat.id, { handle: newcomer });
      assert.equal(added.status, 'accepted');

      const [hit] = await receiver.events('participant.added', { match: (body) => body.data.chat_id === chat.id });
      const event = client.webhooks.unwrap(hit.body, { headers: hit.headers, key: subscription.signing_secret });
      assert.equal(event.event_type, 'participant.added');
      assert.equal(event.data.handle, newcomer);
      assert.throws(() => client.webhooks.unwrap(hit.body, { headers: hit.headers, key: 'whsec_' + Buffer.alloc(32).toString('base64') }));

      await waitFor('the newcomer to be active', async () =>
        (await client.chats.retrieve(chat.id)).handles.some((h) => h.handle === newcomer && h.status === 'active'));
      const removed = await client.chats.participants.remove(chat.id, { handle: newcomer });
      assert.equal(removed.status, 'accepted');
      await receiver.events('participant.removed', { match: (body) => body.data.chat_id === chat.id });
    } finally {
      await client.webhookSubscriptions.delete(subscription.id);
    }
  });

  test('errors: each SDK error class with Linq status and code', async () => {
    const dm = (await client.chats.create({ from: server.lines[0], to: [newPhone(1)], message: hello })).chat;
    const conflict = await client.chats.participants.add(dm.id, { handle: newPhone(2) }).catch((e) => e);
    assert.ok(conflict instanceof ConflictError);
    assert.deepEqual(envelope(conflict), [409, 2015]);

    const missing = await client.chats.retrieve('00000000-0000-4000-8000-000000000000').catch((e) => e);
    assert.ok(missing instanceof NotFoundError);
    assert.deepEqual(envelope(missing), [404, 2001]);

    const chat = await group(newPhone(1), newPhone(2));
    const badHandle = await client.chats.participants.add(chat.id, { handle: 'not a handle' }).catch((e) => e);
    assert.ok(badHandle instanceof BadRequestError);
    assert.deepEqual(envelope(badHandle), [400, 1002]);

    const stranger = new LinqAPIV3({ apiKey: 'linq_sk_not_a_key', baseURL: server.apiURL, maxRetries: 0 });
    const unauthorized = await stranger.phoneNumbers.list().catch((e) => e);
    assert.ok(unauthorized instanceof AuthenticationError);
    assert.deepEqual(envelope(unauthorized), [401, 2004]);
  });

  test('webhook subscriptions: create, retrieve, list, update, delete', async () => {
    const created = await client.webhookSubscriptions.create({
      target_url: `${receiver.url}?crud=1`,
      subscribed_events: ['chat.created'],
    });
    assert.match(created.signing_secret, /^whsec_/);
    assert.equal((await client.webhookSubscriptions.retrieve(created.id)).target_url, created.target_url);
    const { subscriptions } = await client.webhookSubscriptions.list();
    assert.ok(subscriptions.some((s) => s.id === created.id));

    const updated = await client.webhookSubscriptions.update(created.id, {
      is_active: false,
      subscribed_events: ['chat.created', 'participant.added'],
    });
    assert.equal(updated.is_active, false);
    assert.deepEqual(updated.subscribed_events, ['chat.created', 'participant.added']);

    await client.webhookSubscriptions.delete(created.id);
    const gone = await client.webhookSubscriptions.retrieve(created.id).catch((e) => e);
    assert.ok(gone instanceof NotFoundError);
  });

  test('messages: send into a chat, list newest first with auto-pagination, retrieve', async () => {
    const chat = await group(newPhone(1), newPhone(2));
    const texts = ['one', 'two', 'three'];
    const sent = [];
    for (const value of texts) {
      const answer = await client.chats.messages.send(chat.id, { message: { parts: [{ type: 'text', value }] } });
      assert.equal(answer.chat_id, chat.id);
      sent.push(answer.message.id);
    }
    const listed = [];
    for await (const message of client.chats.messages.list(chat.id, { limit: 2 })) listed.push(message.id);
    assert.deepEqual(listed.slice(0, 3), [...sent].reverse(), 'newest first');
    assert.equal(new Set(listed).size, listed.length, 'auto-pagination repeats no message');
    const message = await client.messages.retrieve(sent[1]);
    assert.equal(message.id, sent[1]);
    assert.equal(message.chat_id, chat.id);
    assert.deepEqual(message.parts.map((part) => part.value), ['two']);
  });

  test('webhook event types', async () => {
    const { events, doc_url: docURL } = await client.webhookEvents.list();
    for (const name of ['participant.added', 'participant.removed', 'chat.created', 'message.received']) {
      assert.ok(events.includes(name), name);
    }
    assert.match(docURL, /^https:\/\//);
  });
});
