import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Provider } from '../../src/adapters/providers/provider.js';
import { parseConfig } from '../../src/core/config.js';
import { flipAfterPush } from '../../src/flip/flip-after-push.js';

// A flip that fails for a reason that is not the user's (here: the provider throws a plain error) never fails the
// push: the pusher reads that it failed and where traffic is as far as known; the details go to the server log.
t.test('an internal failure of the flip after a push is said without details, and logged', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-flip-after-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig({ BLUEGREEN_DATA_DIR: dir }, dir).config!;
  const provider: Provider = {
    description: 'a broken provider',
    liveColour: async () => {
      throw new Error('socket exploded at /internal/path');
    },
    moveTraffic: async () => {},
    close: async () => {},
  };
  const said: string[] = [];
  const logged: string[] = [];
  const notices: unknown[] = [];
  await flipAfterPush({
    config,
    provider,
    colour: 'green',
    revision: 'b'.repeat(40),
    by: 'alice',
    why: 'flip',
    say: (line) => said.push(line),
    log: (line) => logged.push(line),
    notify: (notice) => notices.push(notice),
  });
  t.same(said, [
    'flipping to green (-o flip)',
    'error: the flip failed because of an internal error (details are in the server log)',
    'the push stands: green serves bbbbbbbbbbbb (its main); production traffic goes to unknown (the provider cannot be read now)',
  ]);
  t.match(logged.join('\n'), /^flip to green after a push by alice failed: Error: socket exploded at \/internal\/path/);
  t.notOk(said.join('\n').includes('/internal/path'), 'no internal details to the pusher');
  t.match(notices, [{ event: 'flip', ok: false, colour: 'green', by: 'alice', message: 'socket exploded at /internal/path' }]);
});
