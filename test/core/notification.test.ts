import t from 'tap';
import { type Notice, endpointLabel, notificationBody, notificationText } from '../../src/core/notification.js';

const sha = '0123456789abcdef0123456789abcdef01234567';
const base: Notice = { event: 'deploy', ok: true, colour: 'green', revision: sha, by: 'alice', message: 'done' };

t.test('one line of text per event, success and failure', async (t) => {
  const text = (event: Notice['event'], ok: boolean, extra: Partial<Notice> = {}) => notificationText({ ...base, event, ok, message: 'it broke\n  badly', ...extra });
  t.equal(text('deploy', true), 'bluegreen: deployed 0123456789ab to green (by alice)');
  t.equal(text('deploy', false), 'bluegreen: deploy of 0123456789ab to green FAILED (by alice): it broke badly');
  t.equal(text('flip', true), 'bluegreen: green is live 0123456789ab (by alice)');
  t.equal(text('flip', false, { revision: null }), 'bluegreen: flip to green FAILED (by alice): it broke badly');
  t.equal(text('flip-back', true, { colour: 'blue' }), 'bluegreen: flipped back: blue is live again (by alice)');
  t.equal(text('flip-back', false, { colour: 'blue' }), 'bluegreen: flipping back to blue FAILED (by alice): it broke badly');
  t.equal(text('rollback', true), 'bluegreen: rolled back: green is live 0123456789ab (by alice)');
  t.equal(text('rollback', false), 'bluegreen: rollback to green FAILED (by alice): it broke badly');
  t.equal(text('activate', true), 'bluegreen: activated 0123456789ab on green (by alice)');
  t.equal(text('activate', false), 'bluegreen: activate on green FAILED (by alice): it broke badly');
  t.equal(text('sync', true), "bluegreen: synced green to 0123456789ab, the live colour's revision (by alice)");
  t.equal(text('sync', false), 'bluegreen: sync of green FAILED (by alice): it broke badly');
  const long = text('deploy', false, { message: 'x'.repeat(1000) });
  t.equal(long.length, 400);
  t.ok(long.endsWith('…'));
});

t.test('the body: the contract fields in order, message on one line', async (t) => {
  const body = JSON.parse(notificationBody({ ...base, message: 'a\nb' }, new Date('2026-01-02T03:04:05Z')));
  t.same(body, { event: 'deploy', ok: true, colour: 'green', revision: sha, by: 'alice', at: '2026-01-02T03:04:05.000Z', message: 'a b', text: 'bluegreen: deployed 0123456789ab to green (by alice)' });
});

t.test('a webhook is named by host and port, never its path or query', async (t) => {
  t.equal(endpointLabel('https://hooks.slack.com/services/T1/B2/secret'), 'hooks.slack.com:443');
  t.equal(endpointLabel('http://127.0.0.1:9000/hook?token=x'), '127.0.0.1:9000');
  t.equal(endpointLabel('http://example.test/x'), 'example.test:80');
});
