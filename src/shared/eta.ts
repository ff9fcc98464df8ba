/**
 * Time left in a phase that counts its units (epochs, windows, bytes, forward passes), from the pace
 * of the most recent units. Marks start at the first unit done, so the warm-up before it (session
 * creation, compilation, the first touch of memory, which made the first estimate of a run 2.6 times
 * too long) never enters the pace; until a second mark there is no estimate.
 */
export class Eta {
  /** [time in ms, units done], oldest first, at most `recent` + 1 of them. */
  private readonly marks: [number, number][] = [];

  constructor(private readonly recent = 10) {}

  /** Records `done` of `total` units at `now` (ms); the time left, or undefined while it cannot be told. */
  next(done: number, total: number, now = Date.now()): number | undefined {
    const last = this.marks[this.marks.length - 1];
    if (last && done < last[1]) this.marks.length = 0; // counting started over
    this.marks.push([now, done]);
    if (this.marks.length > this.recent + 1) this.marks.shift();
    const [t0, d0] = this.marks[0];
    if (done <= d0 || now <= t0) return undefined;
    return (Math.max(0, total - done) * (now - t0)) / (done - d0);
  }
}
