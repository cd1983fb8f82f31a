import { EventEmitter } from 'node:events';
import t from 'tap';
import { drained } from '../../../src/adapters/streams/drained.js';

for (const event of ['drain', 'close']) {
  t.test(`resolves on '${event}' and leaves no listener behind`, async (t) => {
    const stream = new EventEmitter();
    const waits = Array.from({ length: 20 }, () => drained(stream));
    t.equal(stream.listenerCount('drain'), 20);
    stream.emit(event);
    await Promise.all(waits);
    t.equal(stream.listenerCount('drain'), 0);
    t.equal(stream.listenerCount('close'), 0);
  });
}
