import t from 'tap';
import { type PlacementFacts, decidePlacement } from '../../src/core/slot-placement.js';
import { UserError } from '../../src/core/errors.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const names = { production: 'production (shop.azurewebsites.net)', idle: 'staging (shop-staging-1a2b3c.azurewebsites.net)' };
const facts = (over: Partial<PlacementFacts>): PlacementFacts => ({ recorded: undefined, serving: { production: undefined, idle: undefined }, deployed: {}, names, ...over });

t.test('with no record and nothing served, blue is in production', async (t) => {
  t.same(decidePlacement(facts({})), { production: 'blue', corrected: undefined });
});

t.test('the record stands while the slots agree with it, or say nothing', async (t) => {
  const deployed = { blue: A, green: B };
  t.same(decidePlacement(facts({ recorded: 'green', deployed, serving: { production: B, idle: A } })), { production: 'green', corrected: undefined });
  t.same(decidePlacement(facts({ recorded: 'green', deployed, serving: { production: 'c'.repeat(40), idle: undefined } })), { production: 'green', corrected: undefined }, 'a revision nobody deployed says nothing');
  t.same(decidePlacement(facts({ recorded: 'green', deployed: { blue: A, green: A }, serving: { production: A, idle: A } })), { production: 'green', corrected: undefined }, 'a synced pair says nothing');
});

t.test('a swap made elsewhere is noticed: the other colour\'s deploy in a slot corrects the record', async (t) => {
  const placed = decidePlacement(facts({ recorded: 'blue', deployed: { blue: A, green: B }, serving: { production: B, idle: undefined } }));
  t.equal(placed.production, 'green');
  t.equal(placed.corrected, `the slots were swapped outside bluegreen: ${names.production} serves green's ${B.slice(0, 12)}; now recorded: green in ${names.production}, blue in ${names.idle}`);
});

t.test('slots that say opposite things are refused', async (t) => {
  const refuse = () => decidePlacement(facts({ recorded: 'blue', deployed: { blue: A, green: B }, serving: { production: B, idle: B } }));
  t.throws(refuse, UserError);
  t.throws(refuse, {
    message: `cannot tell which colour is in which slot: ${names.production} serves ${B.slice(0, 12)}, green's last deploy, and ${names.idle} serves ${B.slice(0, 12)}, green's last deploy`,
  });
});
