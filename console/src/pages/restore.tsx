import { useMemo, useState } from "preact/hooks";
import { api, seg } from "../api.ts";
import { bytes, duration, time } from "../format.ts";
import { href } from "../route.ts";
import type { RecoveryPoint, VaultSettings } from "../types.ts";
import { useApi } from "../use-api.ts";
import { ErrorLine, Loading } from "../widgets.tsx";
import { Progress } from "./restore-progress.tsx";

const STEPS = ["Point", "What", "Target", "Confirm", "Progress"] as const;

function Steps({ at }: { at: number }) {
  return (
    <ol class="steps" aria-label="Restore steps">
      {STEPS.map((s, i) => (
        <li key={s} aria-current={i === at ? "step" : undefined} class={i < at ? "done" : ""}>
          {s}
        </li>
      ))}
    </ol>
  );
}

/** The default target: `<first restore directory>/<disk>-<point's date>.img`. */
function suggestedPath(settings: VaultSettings, point: RecoveryPoint): string {
  const dir = settings.restoreDirectories[0];
  if (!dir) return "";
  const stamp = new Date(point.created).toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return `${dir.replace(/\/$/, "")}/${point.disk}-${stamp}.img`;
}

function Wizard({ point, settings }: { point: RecoveryPoint; settings: VaultSettings }) {
  const [step, setStep] = useState(0);
  const [path, setPath] = useState(() => suggestedPath(settings, point));
  const [force, setForce] = useState(false);
  const [jobId, setJobId] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [startedAt, setStartedAt] = useState(0);
  // One key per wizard: a double click or a retried request starts one restore, not two.
  const idempotencyKey = useMemo(() => crypto.randomUUID(), []);
  const start = async () => {
    setError(undefined);
    try {
      setStartedAt(Date.now());
      const accepted = await api<{ jobId: string }>("/restores", {
        method: "POST",
        body: { recoveryPointId: point.id, target: { kind: "file", path, ...(force ? { force } : {}) } },
        idempotencyKey,
      });
      setJobId(accepted.jobId);
      setStep(4);
    } catch (err) {
      setError(err);
    }
  };
  const next = (e: Event) => {
    e.preventDefault();
    setStep((s) => s + 1);
  };
  return (
    <>
      <Steps at={step} />
      {step === 0 ? (
        <form onSubmit={next} class="card">
          <h2>1. Recovery point</h2>
          <p>
            Disk <strong>{point.disk}</strong>, point of {time(point.created)} ({point.consistency},{" "}
            {point.tier} tier), {bytes(point.logicalSize)}.
          </p>
          <p>
            <a href={href("items", point.disk)}>Choose another point</a>
          </p>
          <button type="submit">Next</button>
        </form>
      ) : null}
      {step === 1 ? (
        <form onSubmit={next} class="card">
          <fieldset>
            <legend>2. What to restore</legend>
            <label class="inline">
              <input type="radio" name="what" value="disk" checked />
              The whole disk, as a raw image
            </label>
            <label class="inline disabled">
              <input type="radio" name="what" value="files" disabled />
              Files (file-level recovery is not available yet)
            </label>
          </fieldset>
          <button type="button" class="secondary" onClick={() => setStep(0)}>
            Back
          </button>{" "}
          <button type="submit">Next</button>
        </form>
      ) : null}
      {step === 2 ? (
        <form onSubmit={next} class="card">
          <h2>3. Target</h2>
          {settings.restoreDirectories.length === 0 ? (
            <p class="error" role="alert">
              This vault has no restore directory: a security admin adds one with{" "}
              <code>blockvault vault restore-dirs add DIR</code>.
            </p>
          ) : (
            <p class="help" id="target-help">
              A file inside {settings.restoreDirectories.join(", ")}.
            </p>
          )}
          <label for="target-path">Target file</label>
          <input
            id="target-path"
            required
            value={path}
            aria-describedby="target-help"
            onInput={(e) => setPath(e.currentTarget.value)}
          />
          <label class="inline">
            <input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} />
            Replace the file if it exists (contributor)
          </label>
          <button type="button" class="secondary" onClick={() => setStep(1)}>
            Back
          </button>{" "}
          <button type="submit">Next</button>
        </form>
      ) : null}
      {step === 3 ? (
        <section class="card" aria-labelledby="confirm-heading">
          <h2 id="confirm-heading">4. Confirm</h2>
          <dl class="pairs">
            <div>
              <dt>Point</dt>
              <dd>
                {point.disk}, {time(point.created)}
              </dd>
            </div>
            <div>
              <dt>Restore</dt>
              <dd>the whole disk, {bytes(point.logicalSize)}</dd>
            </div>
            <div>
              <dt>Target</dt>
              <dd>
                <code>{path}</code>
                {force ? " (replaced if it exists)" : ""}
              </dd>
            </div>
            <div>
              <dt>Predicted time</dt>
              <dd data-testid="predicted">{duration(point.predictedRestoreMs)}</dd>
            </div>
          </dl>
          <button type="button" class="secondary" onClick={() => setStep(2)}>
            Back
          </button>{" "}
          <button type="button" onClick={start}>
            Start restore
          </button>
          <ErrorLine error={error} />
        </section>
      ) : null}
      {step === 4 && jobId ? (
        <section class="card" aria-labelledby="progress-heading">
          <h2 id="progress-heading">5. Progress</h2>
          <Progress jobId={jobId} point={point} startedAt={startedAt} />
        </section>
      ) : null}
    </>
  );
}

/** The restore wizard: point → whole disk → target → confirmation with a predicted time → progress. */
export function RestoreWizard({ pointId }: { pointId: string }) {
  const point = useApi<RecoveryPoint>(`/recovery-points/${seg(pointId)}`);
  const settings = useApi<VaultSettings>("/vault/settings");
  const both = point.data && settings.data ? { point: point.data, settings: settings.data } : undefined;
  return (
    <>
      <h1>Restore</h1>
      <Loading data={both} error={point.error ?? settings.error}>
        {(d) => <Wizard point={d.point} settings={d.settings} />}
      </Loading>
    </>
  );
}
