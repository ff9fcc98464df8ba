/** The argument of latentLens.showLatent / highlightLatent: `{ latent, uri }` from a hover link, a bare id, or nothing. */
export interface LatentArg {
  latent?: number;
  uri?: string;
}

export function parseLatentArg(arg: unknown): LatentArg {
  if (typeof arg === 'number') return { latent: arg };
  if (typeof arg === 'string' && /^\s*#?\d+\s*$/.test(arg)) return { latent: Number(arg.replace('#', '')) };
  if (typeof arg === 'object' && arg !== null) {
    const o = arg as Record<string, unknown>;
    return {
      latent: typeof o.latent === 'number' ? o.latent : undefined,
      uri: typeof o.uri === 'string' ? o.uri : undefined,
    };
  }
  return {};
}
