import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readHistory } from '../../src/adapters/state/history.js';
import type { Notice } from '../../src/core/notification.js';
import { createNotifier } from '../../src/notify/notifier.js';
import { startWebhookReceiver } from '../fakes/webhook-receiver.js';

const SECRET = 'notify-secret-do-not-print';
const TOKEN = 'T0KEN-in-the-path';
const notice: Notice = { event: 'deploy', ok: true, colour: 'green', revision: 'a'.repeat(40), by: 'alice', message: 'deployed aaaaaaaaaaaa to green in 0.50 s' };

t.test('delivery: signed, retried with backoff, and recorded as undelivered (host:port only) when it cannot be', async (t) => {
  const receiver = await startWebhookReceiver(SECRET);
  t.teardown(() => receiver.close());
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-notify-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const logs: string[] = [];
  let urls = [`${receiver.base}/good/${TOKEN}?token=${TOKEN}`, `${receiver.base}/fail/${TOKEN}`, `${receiver.base}/hang/${TOKEN}`];
  const notifier = createNotifier({
    target: () => ({ urls, secret: SECRET }),
    dataDir,
    log: (line) => logs.push(line),
    timing: { windowMs: 2000, requestTimeoutMs: 600, firstDelayMs: 50, maxDelayMs: 100 },
  });

  const started = Date.now();
  notifier.notify(notice);
  notifier.notify({ ...notice, event: 'flip', ok: false, message: 'flip to green failed:\nthe check\nfailed' });
  t.ok(Date.now() - started < 50, 'notify returns at once');
  await notifier.flush(5000);

  t.equal(receiver.good.length, 2, 'each notice once');
  t.ok(receiver.good.every((r) => r.signed), 'every body carries a valid signature');
  t.same(
    receiver.good.map((r) => r.body.event),
    ['deploy', 'flip'],
    'in the order the operations ended',
  );
  t.match(receiver.good[0]?.body, { event: 'deploy', ok: true, colour: 'green', revision: notice.revision, by: 'alice', at: String, message: notice.message });
  t.same(Object.keys(receiver.good[0]?.body), ['event', 'ok', 'colour', 'revision', 'by', 'at', 'message', 'text']);
  t.equal(receiver.good[0]?.body.text, 'bluegreen: deployed aaaaaaaaaaaa to green (by alice)');
  t.equal(receiver.good[1]?.body.text, 'bluegreen: flip to green FAILED (by alice): flip to green failed: the check failed', 'text is one line');
  t.ok(receiver.failed >= 3, `a 500 is retried (${receiver.failed} attempts)`);

  const records = (await readHistory(dataDir)).filter((r) => r.type === 'notify');
  const endpoint = `127.0.0.1:${receiver.port}`;
  t.equal(records.length, 4, 'both notices, for both endpoints that did not take them');
  t.match(records.find((r) => r.type === 'notify' && r.event === 'deploy' && r.error === 'HTTP 500'), { type: 'notify', event: 'deploy', colour: 'green', ok: true, endpoint, outcome: 'undelivered', attempts: Number });
  t.ok(records.some((r) => r.type === 'notify' && /^timed out after \d+ ms$/.test(r.error)), 'a hanging endpoint times out');
  const historyText = readFileSync(path.join(dataDir, 'history.jsonl'), 'utf8');
  for (const [where, text] of Object.entries({ history: historyText, log: logs.join('\n') })) {
    t.notOk(text.includes(TOKEN), `${where} never shows a webhook's path or query`);
    t.notOk(text.includes(SECRET), `${where} never shows the secret`);
  }
  t.match(logs.join('\n'), `notify: could not deliver the deploy notice to ${endpoint} (HTTP 500); recorded in history`);

  t.test('a refusal (4xx) is not retried; flush gives up on what is left, recording it', async (t) => {
    urls = [`${receiver.base}/refuse/${TOKEN}`, `${receiver.base}/hang/${TOKEN}`];
    const quick = createNotifier({ target: () => ({ urls, secret: undefined }), dataDir, log: () => {}, timing: { windowMs: 60_000, requestTimeoutMs: 30_000 } });
    const before = receiver.hanging;
    quick.notify({ ...notice, event: 'sync' });
    const flushStarted = Date.now();
    await quick.flush(300);
    t.ok(Date.now() - flushStarted < 2000, 'the wait is bounded');
    t.equal(receiver.hanging, before + 1);
    const sync = (await readHistory(dataDir)).filter((r) => r.type === 'notify' && r.event === 'sync');
    t.equal(sync.length, 2, 'both undelivered');
    t.match(sync.find((r) => r.type === 'notify' && r.error === 'HTTP 404'), { attempts: 1 }, 'a refusal is not retried');
    t.equal(receiver.refused, 1);
    t.match(sync.find((r) => r.type === 'notify' && r.error !== 'HTTP 404'), { error: /given up when bluegreen stopped waiting$/, attempts: 1 }, 'the hanging one is given up by flush');
  });

  t.test('no webhooks: nothing is sent or recorded', async (t) => {
    urls = [];
    const before = (await readHistory(dataDir)).length;
    notifier.notify(notice);
    await notifier.flush(1000);
    t.equal((await readHistory(dataDir)).length, before);
  });
});
