/** Run as a child process: `local-flip-process.ts <host> <port> <stateFile> <colour>` flips like `bluegreen flip` would. */
import { createLocalProvider } from '../../src/adapters/providers/local/router.js';
import { isColour } from '../../src/core/colour.js';

const [host, port, stateFile, colour] = process.argv.slice(2);
if (!host || !port || !stateFile || !colour || !isColour(colour)) {
  console.error('usage: local-flip-process.ts HOST PORT STATE_FILE COLOUR');
  process.exit(2);
}
const provider = createLocalProvider({ listen: { host, port: Number(port) }, stateFile });
await provider.moveTraffic(colour, (line) => console.log(line));
console.log(`live: ${await provider.liveColour()}`);
