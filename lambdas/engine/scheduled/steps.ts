/**
 * The events the state machine sends the function (lib/fan-out.ts builds them with these names).
 * Anything that is not a step event is a whole run in one invocation (a manual invoke).
 */
import * as z from 'zod';

export const STEP_AUDIT_REPOSITORY = 'audit-repository';
export const STEP_DIGEST = 'digest';

/** One Map iteration: the repository at `index` of the config, named for a check against config drift. */
export const AuditRepositoryEventSchema = z.object({
  step: z.literal(STEP_AUDIT_REPOSITORY),
  runId: z.string().min(1).max(200),
  index: z.int().min(0),
  repo: z.string().min(1),
});

/** What a Map iteration left: the function's outcome, or the error Step Functions caught. */
const IterationOutcomeSchema = z.object({
  index: z.int().min(0),
  repo: z.string(),
  error: z.string().optional(),
}).loose();

export const DigestEventSchema = z.object({
  step: z.literal(STEP_DIGEST),
  runId: z.string().min(1).max(200),
  /** The execution's start (ISO 8601); default: now. */
  startedAt: z.iso.datetime({ offset: true }).optional(),
  outcomes: z.array(IterationOutcomeSchema).default([]),
});

export type AuditRepositoryEvent = z.output<typeof AuditRepositoryEventSchema>;
export type DigestEvent = z.output<typeof DigestEventSchema>;
export type StepEvent = AuditRepositoryEvent | DigestEvent;

/** The step event, undefined for a whole-run event; throws with the problems when a step event is malformed. */
export function parseStepEvent(event: unknown): StepEvent | undefined {
  const step = typeof event === 'object' && event !== null ? (event as { step?: unknown }).step : undefined;
  if (step === undefined) return undefined;
  const schema = step === STEP_DIGEST ? DigestEventSchema : AuditRepositoryEventSchema;
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    throw new Error(`invalid ${String(step)} event: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`).join('; ')}`);
  }
  return parsed.data;
}
