import { writevSync } from "node:fs";

/**
 * Writes every byte of `pieces`, in order, at `position` of `fd` with vectored positional writes,
 * going on where a short write stopped. A write that makes no progress is an error.
 */
export function writePieces(fd: number, pieces: readonly Buffer[], position: number): void {
  let rest = remainingPieces(pieces, 0); // without empty pieces, which a write cannot progress on
  let at = position;
  while (rest.length > 0) {
    const n = writevSync(fd, rest as Buffer[], at);
    if (n === 0) throw new Error(`writing at offset ${at} made no progress`);
    at += n;
    rest = remainingPieces(rest, n);
  }
}

/**
 * The non-empty pieces left after the first `n` bytes of `pieces` (where a short write stopped).
 */
export function remainingPieces(pieces: readonly Buffer[], n: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = n;
  for (const piece of pieces) {
    if (skip >= piece.length) skip -= piece.length;
    else {
      rest.push(skip > 0 ? piece.subarray(skip) : piece);
      skip = 0;
    }
  }
  return rest;
}
