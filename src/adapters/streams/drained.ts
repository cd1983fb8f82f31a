import type { EventEmitter } from 'node:events';

/**
 * Resolves when a writable whose write() returned false can take more ('drain'), or is gone ('close'), and
 * removes both listeners either way: callers wait here once per full buffer, so a listener left behind per
 * wait would pile up. Works for node streams, ssh2 channels and streamx (tar-stream) streams alike.
 */
export function drained(stream: Pick<EventEmitter, 'on' | 'off'>): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      stream.off('drain', go);
      stream.off('close', go);
      resolve();
    };
    stream.on('drain', go);
    stream.on('close', go);
  });
}
