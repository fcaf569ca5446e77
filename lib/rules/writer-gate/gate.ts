import type { WriterGate } from "../../ports/writer-gate.ts";
import { type GatePorts, serveWriterCall } from "./serve.ts";
import { decodeCall, encodeReply } from "./wire.ts";

/**
 * The gate's own side: decodes a writer's call, makes it on `ports` if what a backup may write
 * allows it (see serve.ts), and encodes the outcome. The commit function runs it behind its own
 * role; the embedded runtime and the tests run it in process, over the same wire format.
 */
export function writerGate(ports: GatePorts): WriterGate {
  return {
    submit: async (request) => {
      try {
        return encodeReply({ result: await serveWriterCall(ports, decodeCall(request)) });
      } catch (error) {
        return encodeReply({ error });
      }
    },
  };
}
