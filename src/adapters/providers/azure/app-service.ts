/**
 * An App Service app and its second slot (`azure-slots`): their host names as Azure gives them (never built
 * from names: Azure truncates them and appends random characters), where each colour is (the record, checked
 * against what each slot serves), and the swap (`slotsswap`, a long-running operation).
 */
import { type Colour, otherColour } from '../../../core/colour.js';
import type { AzureCredentials } from '../../../core/config.js';
import { UserError } from '../../../core/errors.js';
import { type SlotRole, decidePlacement } from '../../../core/slot-placement.js';
import { readRevision } from '../../http/checks.js';
import { deployedRevision, readHistory } from '../../state/history.js';
import { readSlotPlacement, writeSlotPlacement } from '../../state/slot-placement.js';
import type { ProviderOptions } from '../provider.js';
import { createArmClient } from './arm.js';
import { type AzureTokenSource, createAzureTokenSource } from './token.js';

const API_VERSION = '2023-12-01';
/** Where App Service serves a site's files from (what zip deploy replaces). */
export const SLOT_WEB_ROOT = '/home/site/wwwroot';

/** One slot as Azure describes it. */
export interface SlotSite {
  role: SlotRole;
  /** `production`, or AZURE_SLOT. */
  slot: string;
  /** `defaultHostName`: where the slot's app answers. */
  host: string;
  /** The `Repository` host name: the slot's Kudu. */
  scmHost: string;
  /** `https://<host>/` */
  url: string;
}

export interface SlotsConfig {
  azure: AzureCredentials;
  webapp: string;
  slot: string;
}

export interface AppServiceSlots {
  readonly tokens: AzureTokenSource;
  /** Both slots, read from their resources. */
  sites(): Promise<Record<SlotRole, SlotSite>>;
  /**
   * Where each colour is now, and what each slot serves (its /REVISION, as read to decide); a record found wrong
   * (a swap made elsewhere) is corrected, and `say` (default: the log) told.
   */
  placement(say?: (line: string) => void): Promise<{ production: Colour; sites: Record<SlotRole, SlotSite>; serving: Record<SlotRole, string | undefined> }>;
  /** Swaps the slots (following the operation to its end) and records the new placement: `production` was there before. */
  swap(production: Colour, say: (line: string) => void): Promise<void>;
}

/** How a slot is named in messages: `staging (myapp-staging-a1b2c3.azurewebsites.net)`. */
function slotName(site: SlotSite): string {
  return `${site.slot} (${site.host})`;
}

function siteOf(resource: any, role: SlotRole, slot: string, what: string): SlotSite {
  const host = resource?.properties?.defaultHostName;
  const states: any[] = Array.isArray(resource?.properties?.hostNameSslStates) ? resource.properties.hostNameSslStates : [];
  const scmHost = states.find((state) => state?.hostType === 'Repository')?.name;
  if (typeof host !== 'string' || host === '' || typeof scmHost !== 'string' || scmHost === '') {
    throw new UserError(`Azure's description of ${what} has no ${typeof host === 'string' && host ? 'Repository (Kudu) host name' : 'defaultHostName'}`, {
      hint: 'check that it is an App Service app (not a function app on a consumption plan) and that its SCM site is enabled',
    });
  }
  return { role, slot, host, scmHost, url: `https://${host}/` };
}

const shared = new WeakMap<SlotsConfig, AppServiceSlots>();

/**
 * The slots of one configuration, shared by its provider and its host lookups (one token, and one placement
 * check at a time: a status asks for both colours and the live one at once, and a correction is said once).
 */
export function appServiceSlots(config: SlotsConfig, dataDir: string, options: ProviderOptions = {}): AppServiceSlots {
  let slots = shared.get(config);
  if (!slots) {
    slots = createAppServiceSlots(config, dataDir, options);
    shared.set(config, slots);
  }
  return slots;
}

function createAppServiceSlots(config: SlotsConfig, dataDir: string, options: ProviderOptions = {}): AppServiceSlots {
  const tokens = createAzureTokenSource(config.azure, options);
  const arm = createArmClient(config.azure, { ...options, tokens });
  const sitePath = arm.webPath('sites', config.webapp);
  const slotPath = `${sitePath}/slots/${encodeURIComponent(config.slot)}`;
  const appWhat = `App Service app ${config.webapp} (AZURE_WEBAPP)`;
  const slotWhat = `slot ${config.slot} (AZURE_SLOT) of App Service app ${config.webapp}`;

  let placing: ReturnType<AppServiceSlots['placement']> | undefined;
  const slots: AppServiceSlots = {
    tokens,
    async sites() {
      const deadline = arm.deadline();
      const [app, slot] = await Promise.all([arm.get(sitePath, API_VERSION, appWhat, deadline), arm.get(slotPath, API_VERSION, slotWhat, deadline)]);
      return { production: siteOf(app, 'production', 'production', appWhat), idle: siteOf(slot, 'idle', config.slot, slotWhat) };
    },
    placement(say = options.log ?? ((line) => process.stderr.write(`${line}\n`))) {
      placing ??= place(say).finally(() => {
        placing = undefined;
      });
      return placing;
    },
    async swap(production, say) {
      const deadline = arm.deadline();
      const label = `the swap of ${config.slot} with production (${config.webapp})`;
      const started = await arm.post(`${slotPath}/slotsswap`, API_VERSION, { targetSlot: 'production', preserveVnet: true }, `${slotWhat}: slotsswap`, {
        deadline,
        pass: [417],
        busy: [409],
      });
      if (started.status === 417) {
        throw new UserError(
          `Azure refused the swap: slot ${config.slot} did not answer the warm-up ping (417${started.message ? `: ${started.message}` : ''}); nothing was swapped`,
          {
            hint: `make the app answer on the warm-up path: set WEBSITE_SWAP_WARMUP_PING_PATH (e.g. /health) and WEBSITE_SWAP_WARMUP_PING_STATUSES (e.g. 200,202) in the slot's app settings`,
          },
        );
      }
      say(`swapping ${config.slot} with production ...`);
      await arm.follow(started, label, deadline);
      writeSlotPlacement(dataDir, otherColour(production));
    },
  };

  async function place(say: (line: string) => void) {
    const sites = await slots.sites();
    const serving = async (site: SlotSite) => readRevision(site.url).catch(() => undefined);
    const [history, production, idle] = await Promise.all([readHistory(dataDir), serving(sites.production), serving(sites.idle)]);
    const recorded = readSlotPlacement(dataDir);
    const decided = decidePlacement({
      recorded,
      serving: { production, idle },
      deployed: { blue: deployedRevision(history, 'blue')?.revision, green: deployedRevision(history, 'green')?.revision },
      names: { production: slotName(sites.production), idle: slotName(sites.idle) },
    });
    if (decided.corrected) say(decided.corrected);
    if (decided.production !== recorded) writeSlotPlacement(dataDir, decided.production);
    return { production: decided.production, sites, serving: { production, idle } };
  }

  return slots;
}
