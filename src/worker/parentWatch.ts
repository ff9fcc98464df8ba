import { pidAlive } from '../core/pidAlive';

/**
 * An orphaned worker must not live on: it exits when the IPC channel closes (the parent exited or
 * let go of it) and, in case the channel outlives a hung or killed parent, when polling finds the
 * parent's pid gone.
 */
const POLL_MS = 1000;

/** Calls `onGone` once when the parent process goes away. Returns a function that stops watching. */
export function watchParent(parentPid: number, onGone: (why: string) => void): () => void {
  let done = false;
  const fire = (why: string) => {
    if (done) return;
    done = true;
    stop();
    onGone(why);
  };
  const onDisconnect = () => fire('the IPC channel to the extension host closed');
  process.on('disconnect', onDisconnect);
  const timer = setInterval(() => {
    if (!pidAlive(parentPid) || process.ppid !== parentPid) fire(`the parent process ${parentPid} is gone`);
  }, POLL_MS);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    process.off('disconnect', onDisconnect);
  };
  return stop;
}
