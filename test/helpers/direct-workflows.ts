import type { AppContext, RestoreTargetSpec } from "../../lib/app/app-context.ts";
import { JobStatus } from "../../lib/model.ts";
import type { ByteRange } from "../../lib/ports/object-store.ts";
import type { Machine, Workflows } from "../../lib/ports/workflows.ts";

/**
 * A test double of the Workflows port: a restore "execution" runs the restore at once, in
 * process, through `vault.restore` into `app.openTarget`, and completes the job the API
 * recorded. Like the port's contract says, a name already started starts nothing.
 */
export class DirectWorkflows implements Workflows {
  readonly starts: { machine: Machine; name: string; input: Record<string, unknown> }[] = [];
  private readonly running = new Map<string, Promise<void>>();
  private readonly app: () => AppContext;

  constructor(app: () => AppContext) {
    this.app = app;
  }

  async start(machine: Machine, name: string, input: Record<string, unknown>) {
    if (!this.running.has(name)) {
      this.starts.push({ machine, name, input });
      this.running.set(name, this.restore(input));
    }
    return { executionId: `direct:${machine}:${name}` };
  }

  /** Waits for every started execution to end. */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }

  private async restore(input: Record<string, unknown>): Promise<void> {
    const app = this.app();
    const vault = await app.vault();
    const { catalog, clock } = vault.ctx.deps;
    const jobId = input.jobId as string;
    const range = input.range as ByteRange | undefined;
    try {
      const point = await vault.getPoint(input.pointId as string);
      const target = await app.openTarget(
        input.target as RestoreTargetSpec,
        range?.length ?? point.logicalSize,
      );
      const result = await vault.restore(point.id, target, range ? { range } : {});
      await catalog.updateJob(vault.id, jobId, {
        status: JobStatus.Completed,
        ended: clock.now(),
        bytesScanned: result.bytesRestored,
      });
    } catch (err) {
      await catalog.updateJob(vault.id, jobId, { status: JobStatus.Failed, error: (err as Error).message });
    }
  }
}
