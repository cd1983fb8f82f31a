import t from 'tap';
import { waitUntil } from '../../../src/adapters/http/sleep.js';

t.test('waitUntil ends when the condition holds, when time is up, or when told to hurry', async (t) => {
  let polls = 0;
  await waitUntil(() => ++polls === 3, 10_000, undefined, 1);
  t.equal(polls, 3, 'asked until it held');

  let asked = 0;
  await waitUntil(() => (asked++, false), 30, undefined, 5);
  t.ok(asked >= 2, `gave up after its time, having asked ${asked} times`);

  const hurry = new AbortController();
  setTimeout(() => hurry.abort(), 20);
  let waited = 0;
  await waitUntil(() => (waited++, false), 60_000, hurry.signal, 5);
  t.ok(hurry.signal.aborted, 'ended by the signal, not by its 60 s');
});
