/**
 * Progress to the host at most every `ms` per job: every event of a new phase, and a count's last
 * unit, go at once; between them only the latest event is kept and sent when its turn comes. A
 * download reports every chunk and an epoch can take milliseconds: each message costs the editor a
 * repaint, on the cores the run needs.
 */
import type { ProgressEvent } from '../shared/protocol';

export function throttled(send: (p: ProgressEvent) => void, ms: number): { send(p: ProgressEvent): void; end(): void } {
  let last = -Infinity;
  let lastPhase: string | undefined;
  let pending: ProgressEvent | undefined;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!pending) return;
    const p = pending;
    pending = undefined;
    last = Date.now();
    lastPhase = p.phase;
    send(p);
  };
  return {
    send(p) {
      const final = p.total !== undefined && p.done === p.total;
      pending = p;
      if (p.phase !== lastPhase || final || Date.now() - last >= ms) {
        clearTimeout(timer);
        flush();
      } else {
        timer ??= setTimeout(flush, ms - (Date.now() - last));
      }
    },
    end() {
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
