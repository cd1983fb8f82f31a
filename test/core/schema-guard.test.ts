import t from 'tap';
import { UserError } from '../../src/core/errors.js';
import { formatRange, parseSchema, refuseMigration, refuseServing } from '../../src/core/schema-guard.js';

const REV = 'a'.repeat(40);
const LIVE = 'b'.repeat(40);

t.test('a schema file: compatible and migrates-to lines, comments and blank lines', async (t) => {
  t.same(parseSchema('# expand\n\ncompatible=3-4\nmigrates-to=4\n', REV), { compatible: { min: 3, max: 4 }, migratesTo: 4 });
  t.same(parseSchema('', REV), {}, 'declares nothing');
  t.equal(formatRange({}), 'any');
  t.equal(formatRange({ compatible: { min: 1, max: 2 } }), '1-2');
  for (const bad of ['compatible=4-3', 'compatible=3', 'migrates-to=x', 'version=3']) {
    t.throws(() => parseSchema(`compatible=1-2\n${bad}\n`, REV), {
      message: `.bluegreen/schema of aaaaaaaaaaaa, line 2: ${JSON.stringify(bad)} is not \`compatible=MIN-MAX\` (MIN ≤ MAX) or \`migrates-to=N\``,
    });
  }
});

t.test('a migration is refused when the live colour cannot work with where it takes the database', async (t) => {
  const incoming = { colour: 'blue', revision: REV, schema: { compatible: { min: 1, max: 2 }, migratesTo: 2 } };
  const live = { colour: 'green', revision: LIVE, schema: { compatible: { min: 1, max: 1 } } };
  const refusal = refuseMigration({ database: 1, incoming, live });
  t.ok(refusal instanceof UserError);
  t.equal(
    refusal?.message,
    'refused by the schema guard: aaaaaaaaaaaa migrates the database to version 2 (now 1), but the live colour green serves bbbbbbbbbbbb, which works with versions 1-1 only; nothing ran',
  );
  t.equal(refusal?.hint, 'first deploy and flip to a release that works with both (expand, then contract), or deploy anyway: `git push -o force-schema` (`bluegreen deploy --force`)');
  t.equal(refuseMigration({ database: 1, incoming, live: undefined }), undefined, 'nothing is live');
  t.equal(refuseMigration({ database: 1, incoming, live: { ...live, schema: {} } }), undefined, 'the live release declares nothing');
  t.equal(refuseMigration({ database: 1, incoming, live: { ...live, schema: { compatible: { min: 1, max: 2 } } } }), undefined, 'within range');
  t.equal(refuseMigration({ database: 1, incoming: { ...incoming, colour: 'green' }, live }), undefined, 'replacing the live colour itself');
});

t.test('a release is refused production when it cannot work with the recorded version', async (t) => {
  const release = { colour: 'green', revision: REV, schema: { compatible: { min: 1, max: 1 } } };
  const refusal = refuseServing({ database: 2, release, action: 'flipping to green', override: 'bluegreen flip green --force' });
  t.equal(
    refusal?.message,
    "refused by the schema guard: flipping to green would make green's aaaaaaaaaaaa serve production, but it works with database versions 1-1 and the database is at version 2; nothing was changed",
  );
  t.equal(refusal?.hint, 'deploy a release compatible with version 2, or do it anyway: `bluegreen flip green --force` (recorded in history)');
  t.equal(refuseServing({ database: undefined, release, action: 'x', override: 'x' }), undefined, 'no version recorded: nothing to guard');
  t.equal(refuseServing({ database: 1, release, action: 'x', override: 'x' }), undefined);
  t.equal(refuseServing({ database: 7, release: { ...release, schema: {} }, action: 'x', override: 'x' }), undefined, 'a release without the file is never refused');
});
