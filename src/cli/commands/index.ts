import type { Command } from 'commander';
import type { Output } from '../output.js';
import { registerDeploy } from './deploy.js';
import { registerFlip } from './flip.js';
import { registerHistory } from './history.js';
import { registerInit } from './init.js';
import { registerProvision } from './provision.js';
import { registerReleases } from './releases.js';
import { registerServe } from './serve.js';
import { registerStatus } from './status.js';
import { registerSync } from './sync.js';
import { registerUser } from './user.js';

export function registerCommands(program: Command, output: Output): void {
  registerServe(program, output);
  registerUser(program, output);
  registerInit(program, output);
  registerReleases(program, output);
  registerHistory(program, output);
  registerDeploy(program, output);
  registerFlip(program, output);
  registerStatus(program, output);
  registerProvision(program, output);
  registerSync(program, output);
}
