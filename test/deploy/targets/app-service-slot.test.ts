/**
 * An App Service slot as a deploy target, in this process against the fake App Service (its names reached
 * through BLUEGREEN_CONNECT_TO, its test CA trusted): what the end-to-end test does not provoke.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { RevisionReader } from '../../../src/adapters/git/revisions.js';
import { routeOutgoing } from '../../../src/adapters/http/outgoing.js';
import { parseConfig } from '../../../src/core/config.js';
import { provisionTargets } from '../../../src/core/provision-plan.js';
import { createTarget } from '../../../src/deploy/create-targets.js';
import { resolveHosts } from '../../../src/deploy/resolve-hosts.js';
import { startFakeAppService } from '../../fakes/app-service.js';
import { WorkRepo } from '../../helpers/git-repo.js';
import { rejectsWithUserError } from '../../helpers/user-error.js';

const ids = { tenantId: 'tenant-1', subscriptionId: 'sub-1', resourceGroup: 'rg-1' };
const fake = await startFakeAppService({ ...ids, app: 'shop', slot: 'staging', deployPolls: 0 });
t.teardown(() => fake.close());
const dir = mkdtempSync(path.join(os.tmpdir(), 'bluegreen-slot-target-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const secret = 'the-client-secret-value';
const env = {
  BLUEGREEN_DATA_DIR: path.join(dir, 'data'),
  BLUEGREEN_PROVIDER: 'azure-slots',
  AZURE_TENANT_ID: ids.tenantId,
  AZURE_CLIENT_ID: 'client-1',
  AZURE_CLIENT_SECRET: secret,
  AZURE_SUBSCRIPTION_ID: ids.subscriptionId,
  AZURE_RESOURCE_GROUP: ids.resourceGroup,
  AZURE_WEBAPP: 'shop',
  BLUEGREEN_CONNECT_TO: fake.connectTo,
  BLUEGREEN_VERIFY_TIMEOUT: '1',
};
const config = parseConfig(env, dir).config!;
routeOutgoing(config.connectTo, { extraCa: fake.ca.ca });
const work = new WorkRepo();
t.teardown(() => work.cleanup());
const reader = new RevisionReader(path.join(work.dir, '.git'));
const [green] = await resolveHosts(config, 'green');
const target = createTarget(config, green!, 'green');
const prepare = (revision: string) =>
  target.prepare({ colour: 'green', revision, release: `20260101000000-${revision.slice(0, 12)}`, state: { releases: [], current: undefined, currentRevision: undefined }, reader, keepReleases: 5, say: () => {} });

t.test('the idle colour is the slot, with the host names Azure gives', async (t) => {
  t.match(green, { kind: 'app-service-slot', slot: 'staging', host: fake.hosts.slot, scmHost: fake.hosts.slotScm, url: `https://${fake.hosts.slot}/` });
  t.equal(target.label, `slot staging (${fake.hosts.slot})`);
});

t.test('a deploy whose slot does not then answer the health path fails, naming what it saw', async (t) => {
  const revision = work.write('about.html', 'no index.html here').commit('no index');
  await rejectsWithUserError(t, prepare(revision), {
    message: new RegExp(`^slot staging \\(${fake.hosts.slot.replace(/\./g, '\\.')}\\) does not serve the deployed revision after the zip deploy: https://${fake.hosts.slot.replace(/\./g, '\\.')}/: HTTP 404`),
    hint: /BLUEGREEN_HEALTH_PATH \(\/\) must answer 2xx/,
    secrets: [secret],
  });
  t.equal(fake.revision('slot'), revision, 'the slot got it all the same: it is not production');
});

t.test('Kudu refusing the service principal is a configuration problem', async (t) => {
  fake.kuduRefusesNext(403);
  const error = await rejectsWithUserError(t, prepare(work.write('index.html', 'ok').commit('ok')), {
    message: new RegExp(`^Kudu of slot staging refused POST https://${fake.hosts.slotScm.replace(/\./g, '\\.')}/api/zipdeploy \\(HTTP 403: The client does not have authorization`),
    hint: /Website Contributor role/,
    secrets: [secret],
  });
  t.equal(error?.exitCode, 2);
  fake.kuduRefusesNext(400);
  await rejectsWithUserError(t, prepare(work.write('index.html', 'ok again').commit('ok again')), {
    message: new RegExp(`^Kudu of slot staging refused POST https://\\S+/api/zipdeploy \\(HTTP 400: The zip file is corrupt\\.\\)$`),
    hint: new RegExp(`^see https://${fake.hosts.slotScm.replace(/\./g, '\\.')}/api/deployments for details$`),
    secrets: [secret],
  });
});

t.test('a slot keeps no earlier releases to activate, and has no host to provision', async (t) => {
  await rejectsWithUserError(t, target.activate('20250101000000-abcdefabcdef'), { message: /keeps no earlier releases to go back to/, hint: /deploy the revision again/, secrets: [] });
  t.throws(() => provisionTargets(config, ['green'], { green: [green!] }), {
    message: 'green lives in App Service slot staging (BLUEGREEN_PROVIDER=azure-slots): Azure runs it, there is no host to provision',
  });
});

t.test('a slot without a Kudu host name is explained', async (t) => {
  fake.scmHidden = true;
  t.teardown(() => {
    fake.scmHidden = false;
  });
  const fresh = parseConfig(env, dir).config!; // a new configuration: no slots client read before
  await rejectsWithUserError(t, resolveHosts(fresh, 'green'), {
    message: /^Azure's description of slot staging \(AZURE_SLOT\) of App Service app shop has no Repository \(Kudu\) host name$/,
    hint: /SCM site is enabled/,
    secrets: [secret],
  });
});
