/**
 * Effect size of the concept test: the rank-biserial correlation r = 2·AUC − 1 between a latent's
 * activations on concept tokens and on the other tokens of the test, zeros included (a token where
 * the latent does not fire counts as activation 0). AUC = P(x_concept > x_other) + ½·P(equal), the
 * Mann–Whitney U over nC·nO pairs. r = +1: every concept token activates it more than every other
 * token; 0: no tendency; −1: the reverse. Unlike the score it sees the tokens where the latent is
 * silent, so a latent firing on one concept token among fifty scores high but gets a small r.
 *
 * `conceptFiring` / `otherFiring` hold the non-zero activations (sorted ascending in place);
 * `nConcept` / `nOther` count all tokens of each side, firing or not.
 */
export function rankBiserial(conceptFiring: Float64Array, nConcept: number, otherFiring: Float64Array, nOther: number): number {
  if (nConcept === 0 || nOther === 0) return 0;
  conceptFiring.sort();
  otherFiring.sort();
  const zerosC = nConcept - conceptFiring.length;
  const zerosO = nOther - otherFiring.length;
  let u = 0;
  let below = 0; // other firing values < x
  let equal = 0; // other firing values == x
  let prev = NaN;
  for (let i = 0; i < conceptFiring.length; i++) {
    const x = conceptFiring[i];
    if (x !== prev) {
      below += equal;
      equal = 0;
      while (below < otherFiring.length && otherFiring[below] < x) below++;
      while (below + equal < otherFiring.length && otherFiring[below + equal] === x) equal++;
      prev = x;
    }
    u += below + 0.5 * equal + (x > 0 ? zerosO : 0);
  }
  // Concept zeros: beat the negative other values, tie with the other zeros.
  let negO = 0;
  while (negO < otherFiring.length && otherFiring[negO] < 0) negO++;
  u += zerosC * (negO + 0.5 * zerosO);
  return (2 * u) / (nConcept * nOther) - 1;
}
