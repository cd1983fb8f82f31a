import { readRevision, verifyTiming, waitUntilServing } from '../../adapters/http/checks.js';
import { appServiceSlots } from '../../adapters/providers/azure/app-service.js';
import { type Kudu, createKudu } from '../../adapters/providers/azure/kudu.js';
import type { Config, HostTarget } from '../../core/config.js';
import { messageOf, UserError } from '../../core/errors.js';
import type { DeployTarget, PrepareInput, PreparedRelease, TargetState } from './target.js';
import { shortSha } from '../../core/format.js';

type SlotHost = Extract<HostTarget, { kind: 'app-service-slot' }>;

/**
 * An App Service slot as a deploy target (`azure-slots`): one "host" whose prepare is a zip deploy through the
 * slot's Kudu followed by a check of the slot's own address (REVISION and health). The slot holding the colour
 * is never production while the colour is idle, so preparing it is safe; the switch to production is the flip's
 * swap, so `commit` has nothing left to do. A slot keeps no earlier releases: what a failed deploy left there stays
 * (recorded as failed, so a flip refuses it) until the next deploy.
 */
export class AppServiceSlotTarget implements DeployTarget {
  readonly label: string;
  readonly appRoot: string;
  private readonly kudu: Kudu;

  constructor(
    private readonly config: Config,
    private readonly host: SlotHost,
  ) {
    if (config.provider.kind !== 'azure-slots') throw new Error('an App Service slot target needs the azure-slots provider');
    this.label = `slot ${host.slot} (${host.host})`;
    this.appRoot = host.appRoot;
    // The provider's token source (one sign-in for ARM and every Kudu of the app).
    const { tokens } = appServiceSlots(config.provider, config.dataDir);
    this.kudu = createKudu({ scmHost: host.scmHost, slotName: host.slot }, config.provider.azure, tokens);
  }

  async inspect(): Promise<TargetState> {
    const serving = await readRevision(this.host.url).catch(() => undefined);
    return { releases: [], current: undefined, currentRevision: serving };
  }

  async prepare(input: PrepareInput): Promise<PreparedRelease> {
    const { revision, reader, say } = input;
    const started = Date.now();
    say(`zip deploy to ${this.label} through Kudu (${this.host.scmHost})`);
    await this.kudu.zipDeploy({
      // Made anew for each try: a 409 (another deployment running) sends the whole zip again.
      open: () => reader.zip(revision, [{ path: 'REVISION', content: Buffer.from(`${revision}\n`) }]),
      busyMs: this.config.lockWaitMs,
      say,
    });
    const sent = Date.now();
    say(`Kudu: success; checking ${this.host.url}: ${this.config.healthPath} answers 2xx and /REVISION is ${shortSha(revision)}`);
    try {
      await waitUntilServing(this.host.url, this.config.healthPath, revision, 'the deployed', verifyTiming(this.config.verifyTimeoutMs));
    } catch (error) {
      throw new UserError(`${this.label} does not serve the deployed revision after the zip deploy: ${messageOf(error)}`, {
        hint: `see the slot's log stream in the Azure portal; BLUEGREEN_HEALTH_PATH (${this.config.healthPath}) must answer 2xx`,
      });
    }
    const nothing = async () => {};
    return {
      release: input.release,
      base: undefined,
      counts: { added: 0, changed: 0, removed: 0 },
      bytesSent: 0,
      phases: { send: sent - started, verify: Date.now() - sent },
      commit: nothing,
      revert: nothing,
      discard: nothing,
      finish: () => {},
    };
  }

  async activate(): Promise<void> {
    throw new UserError(`${this.label} keeps no earlier releases to go back to`, {
      hint: 'deploy the revision again (bluegreen deploy COLOUR REVISION), or swap the slots back with a flip',
    });
  }

  async idle(): Promise<void> {}

  async close(): Promise<void> {}
}
