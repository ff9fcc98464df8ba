import { auxkOf, type SaeHyper } from './types';

/** The AuxK term's inputs for one step (types.ts defines the term). */
export interface AuxkStep {
  /** f32 [nLatents]: 1 for a dead latent, 0 for a live one. */
  mask: Float32Array;
  dead: number;
  /** min(kAux, dead): how many dead latents each token's auxiliary code may keep. */
  k: number;
  /** min(dead / kAux, 1): the loss's scale when fewer latents are dead than kAux. */
  scale: number;
}

/**
 * Which latents count as dead for AuxK: a latent is dead when it has been zero on every one of the
 * last `deadTokens` tokens trained on (counting every token of every step so far; a latent that has
 * seen fewer tokens than that is not dead). Shared by both engines.
 */
export class DeadLatents {
  private readonly since: Float64Array; // tokens trained on since the latent last fired
  private readonly mask: Float32Array;

  constructor(private readonly h: SaeHyper) {
    this.since = new Float64Array(h.nLatents);
    this.mask = new Float32Array(h.nLatents);
  }

  /** The AuxK inputs of the next step; undefined when AuxK is off or no latent is dead. */
  next(): AuxkStep | undefined {
    const a = auxkOf(this.h);
    if (a.coef === 0) return undefined;
    let dead = 0;
    for (let j = 0; j < this.since.length; j++) {
      const isDead = this.since[j] >= a.deadTokens;
      this.mask[j] = isDead ? 1 : 0;
      dead += isDead ? 1 : 0;
    }
    if (dead === 0) return undefined;
    return { mask: this.mask, dead, k: Math.min(a.kAux, dead), scale: Math.min(dead / a.kAux, 1) };
  }

  /** After a step of n tokens in which the latents with fired[j] = 1 were non-zero on some token. */
  update(fired: Uint8Array, n: number): void {
    for (let j = 0; j < this.since.length; j++) this.since[j] = fired[j] ? 0 : this.since[j] + n;
  }
}
