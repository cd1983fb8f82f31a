#!/usr/bin/env node
// `flip green` is `bluegreen flip green`.
import { main } from '../src/cli/main.js';

process.exitCode = await main(['flip', ...process.argv.slice(2)]);
