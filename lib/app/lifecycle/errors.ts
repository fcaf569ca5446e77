import { BlockvaultError } from "../../errors.ts";

/**
 * The archived packs a restore needs were still not readable after the restore state machine's
 * last poll. Not retryable: the machine already waited as long as it was told to.
 */
export class RehydrationTimeoutError extends BlockvaultError {
  constructor(message: string) {
    super(message, { code: "REHYDRATION_TIMEOUT", retryable: false });
  }
}

/**
 * Some recovery points of a tiering run could not be moved (each failure was retried first);
 * the others were. The job ends failed so that an operator hears about it.
 */
export class TieringIncompleteError extends BlockvaultError {
  constructor(message: string) {
    super(message, { code: "TIERING_INCOMPLETE", retryable: false });
  }
}
