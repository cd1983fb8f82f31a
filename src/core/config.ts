/**
 * Configuration: the environment (and `.env`) parsed into a typed `Config`, every problem reported at once.
 * Sections live in ./config/: values (kinds of value), hosts, providers, parse (the whole), files (which
 * files a command needs), live-reload (which changes a running server may apply).
 */
export type { AzureCredentials, Config, ConfigResult, Env, HostDiscovery, HostLocation, HostSource, HostTarget, Listen, ProviderConfig } from './config/types.js';
export { EMBEDDED_HOST_PORTS, discoveredHost, hostKey, templateHost } from './config/hosts.js';
export { parseConfig } from './config/parse.js';
export { SECRET_VARIABLES, isSecretVariable } from './config/secrets.js';
export { type ConfigNeed, SERVE_NEEDS, type FileFact, type FileRequirement, fileProblem, requiredFiles, tlsMismatchProblem } from './config/files.js';
export { type ReloadDecision, decideReload } from './config/live-reload.js';
