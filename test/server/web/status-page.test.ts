/**
 * The status page in a real browser (Debian's chromium, headless, driven by playwright-core) against the real
 * `bluegreen serve` in its embedded default (two local hosts, the local router): sign in, see both colours,
 * watch a real git push's progress arrive without reloading, flip from the page and see the live colour
 * change; a viewer sees no buttons and is refused a flip through the API.
 *
 * PAGE_SCREENSHOT=docs/status-page.png also saves the operator's page (the README's screenshot).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type Page, chromium } from 'playwright-core';
import t from 'tap';
import { writeSchemaVersion } from '../../../src/adapters/state/schema-version.js';
import { addUser } from '../../../src/adapters/state/users.js';
import { cleanEnv, requireBuild, startServe } from '../../helpers/bluegreen.js';
import { WorkRepo } from '../../helpers/git-repo.js';
import { freePort } from '../../helpers/sshd.js';

const CHROMIUM = '/usr/bin/chromium';
const execFileAsync = promisify(execFile);
requireBuild();
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-test-deps.sh`);

t.test('the status page in a browser', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-page-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = {
    BLUEGREEN_LISTEN: '127.0.0.1:0',
    BLUE_URL: `http://127.0.0.1:${await freePort('127.0.0.1')}/`,
    GREEN_URL: `http://127.0.0.1:${await freePort('127.0.0.1')}/`,
    BLUEGREEN_ROUTER_LISTEN: `127.0.0.1:${await freePort('127.0.0.1')}`,
    BLUEGREEN_SSH_LISTEN: 'off',
    // Flips check every 300 ms rather than every 500 ms.
    BLUEGREEN_VERIFY_TIMEOUT: '3',
  };
  const [server, browser] = await Promise.all([startServe(dir, env, t), chromium.launch({ executablePath: CHROMIUM })]);
  t.teardown(() => browser.close());
  await server.waitFor(/token \(shown only now\): \S+\n/);
  const token = /created user admin; token \(shown only now\): (\S+)/.exec(server.output())?.[1] ?? '';
  const viewerToken = await addUser(path.join(dir, '.bluegreen'), 'vic', { role: 'viewer' });
  const base = server.gitUrl;

  const work = new WorkRepo();
  t.teardown(() => work.cleanup());
  const origin = new URL(base);
  for (const colour of ['blue', 'green']) work.git('remote', 'add', colour, `http://admin:${token}@${origin.host}/${colour}.git`);
  const deploy = async (colour: string, label: string) => {
    work.write('index.html', `<h1>${label}</h1>`);
    const sha = work.commit(label);
    await execFileAsync('git', ['push', '-q', colour, 'main'], { cwd: work.dir, env: cleanEnv() });
    return sha;
  };

  const signIn = async (on: Browser, name: string, secret: string, viewport = { width: 1100, height: 900 }, wrongFirst = false): Promise<Page> => {
    const context = await on.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    t.equal(new URL(page.url()).pathname, '/login', 'signed out: the page sends you to sign in');
    if (wrongFirst) {
      await page.getByLabel('User name').fill(name);
      await page.getByLabel('Token').fill('not-the-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      t.equal(await page.getByRole('alert').textContent(), 'wrong user name or token', 'a wrong token is refused');
      t.notMatch(page.url(), /token/, 'no token in the URL');
    }
    await page.getByLabel('User name').fill(name);
    await page.getByLabel('Token').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
    await page.locator('.colour-green').waitFor();
    return page;
  };

  const page = await signIn(browser, 'admin', token, undefined, true);
  await t.test('both colours, none live yet, no history', async (t) => {
    t.equal(await page.locator('p.live').textContent(), 'No colour is live yet (local router at ' + `http://${env.BLUEGREEN_ROUTER_LISTEN})`);
    t.match(await page.locator('.colour-blue').textContent(), /blue\s*idle.*never deployed/);
    t.match(await page.locator('.colour-green').textContent(), /green\s*idle.*never deployed/);
    t.match(await page.locator('header').textContent(), /admin\s*\(operator\)/);
    t.equal(await page.locator('.connection').textContent(), '● live updates');
  });

  await t.test("a push's progress appears without reloading; the colour then shows the revision", async (t) => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    t.equal(await page.locator('.schema').count(), 0, 'no schema version before a migrate recorded one');
    // As a migrate hook's success records it (the status read after the push shows it).
    writeSchemaVersion(path.join(dir, '.bluegreen'), { version: 3, colour: 'green', revision: '0'.repeat(40), at: new Date().toISOString() });
    const sha = await deploy('blue', 'blue v1');
    const lines = page.locator('.operation', { hasText: 'deploy to blue' });
    await lines.locator('pre', { hasText: `deploying ${sha.slice(0, 12)} to blue` }).waitFor();
    await lines.getByText('✓ done').waitFor();
    await page.locator('.colour-blue', { hasText: `Deployed${sha.slice(0, 12)} by admin` }).waitFor();
    t.match(await page.locator('.colour-blue').textContent(), /Serving[0-9a-f]{12}.*✓ healthy/);
    t.equal(await page.locator('.schema').textContent(), 'database schema version: 3 (blue works with any)', 'the schema version, and what the deployed release works with');
    t.match(await page.locator('.history').textContent(), new RegExp(`deploy to blue ${sha.slice(0, 12)}.*by admin`));
    t.ok(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), 'the same page, never reloaded');
  });

  await t.test('flip from the page: a confirmation naming what will happen, then the flip live', async (t) => {
    // With the keyboard: the button, Enter, the plan; Escape cancels.
    await page.getByRole('button', { name: 'Flip to blue' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.locator('pre', { hasText: 'move traffic to blue' }).waitFor();
    t.match(await dialog.textContent(), /Flip production to blue\?.*from no colour to blue/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    t.equal(await page.locator('.operation', { hasText: 'flip' }).count(), 0, 'cancelled: nothing ran');

    await page.getByRole('button', { name: 'Flip to blue' }).click();
    await dialog.getByRole('button', { name: 'Flip to blue' }).click();
    await page.locator('.live', { hasText: 'blue is live' }).waitFor();
    await page.locator('.operation', { hasText: 'flip → blue' }).getByText('✓ done').waitFor();
    t.match(await page.locator('.operation', { hasText: 'flip → blue' }).locator('pre').textContent(), /now routes to blue[\s\S]*blue is live \([0-9a-f]{12}\), verified through/);

    const sha = await deploy('green', 'green v2');
    await page.locator('.operation pre', { hasText: `deploying ${sha.slice(0, 12)} to green` }).waitFor();
    await page.locator('.colour-green', { hasText: `Deployed${sha.slice(0, 12)}` }).waitFor();
    await page.getByRole('button', { name: 'Flip to green' }).click();
    await dialog.getByRole('button', { name: 'Flip to green' }).click();
    await page.locator('.live', { hasText: 'green is live' }).waitFor();
    t.match(await page.locator('.colour-green h2').textContent(), /green\s*live/);
    t.ok(await page.getByRole('button', { name: 'Roll back to blue' }).isVisible(), 'an operator may roll back');
    if (process.env.PAGE_SCREENSHOT) await page.screenshot({ path: process.env.PAGE_SCREENSHOT, fullPage: true });
  });

  await t.test('a hidden tab pauses the updates; showing it again resumes them', async (t) => {
    const setHidden = (hidden: boolean) =>
      page.evaluate((value) => {
        Object.defineProperty(document, 'hidden', { value, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    t.equal(await page.locator('.connection').textContent(), 'updates paused');
    await setHidden(false);
    await page.locator('.connection', { hasText: 'live updates' }).waitFor();
  });

  await t.test('a viewer, at a phone\'s width: the same facts, no buttons, and the API refuses a flip', async (t) => {
    const viewer = await signIn(browser, 'vic', viewerToken, { width: 375, height: 740 });
    await viewer.locator('.live', { hasText: 'green is live' }).waitFor();
    t.equal(await viewer.locator('button.flip, button.rollback').count(), 0, 'no flip or rollback buttons');
    t.ok(await viewer.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
    const refused = await viewer.evaluate(async () => {
      const response = await fetch('/api/flip', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ colour: 'blue' }) });
      return { status: response.status, body: await response.json() };
    });
    t.same(refused, {
      status: 403,
      body: { error: 'vic is a viewer: flipping and rolling back need the operator role; an administrator can run `bluegreen user role vic operator`' },
    });
    await viewer.context().close();
  });

  await t.test("git's paths are still git's", async (t) => {
    const refs = await fetch(`${base}/blue.git/info/refs?service=git-upload-pack`);
    t.equal(refs.status, 401);
    t.equal(refs.headers.get('www-authenticate'), 'Basic realm="bluegreen"');
  });
});
