import type { PushHandler } from '../deploy/push-handler.js';
import type { Activity } from '../status/activity.js';
import { messageOf } from '../core/errors.js';

/**
 * The push handler, with every line said to the pusher also published as the deploy's progress (the status
 * page shows them live): a push starts with pre-receive and ends with post-receive or a refusal.
 */
export function publishingPushes(handle: PushHandler, activity: Activity): PushHandler {
  return async (request, say, interrupted) => {
    const { colour, pusher, call } = request;
    if (call.hook === 'pre-receive') activity.start('deploy', colour, pusher);
    const tell = (line: string) => {
      say(line);
      activity.progress('deploy', colour, pusher, line);
    };
    try {
      await handle(request, tell, interrupted);
    } catch (error) {
      activity.done('deploy', colour, pusher, false, messageOf(error));
      throw error;
    } finally {
      activity.changed();
    }
    if (call.hook === 'post-receive') activity.done('deploy', colour, pusher, true, '');
  };
}
