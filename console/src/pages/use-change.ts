import { useState } from "preact/hooks";
import { ApiError } from "../api.ts";

/** Runs a change; a 428 becomes a message naming the request to approve. */
export function useChange(onDone: () => void) {
  const [error, setError] = useState<unknown>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const run = async (change: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setMessage(undefined);
    try {
      await change();
      setMessage(done);
      onDone();
    } catch (err) {
      if (err instanceof ApiError && err.approvalRequestId)
        setMessage(
          `This needs a second security admin: request ${err.approvalRequestId} is on the Approvals page.`,
        );
      else setError(err);
    }
  };
  return { error, message, run };
}
