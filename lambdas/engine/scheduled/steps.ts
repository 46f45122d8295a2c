/**
 * The events the state machine sends the function (lib/fan-out.ts builds them with these names).
 * Anything that is not a step event is a whole run in one invocation (a manual invoke).
 */
import * as z from '../zod.js';

export const STEP_AUDIT_REPOSITORY = 'audit-repository';
export const STEP_DIGEST = 'digest';

/** One Map iteration: the repository at `index` of the config, named for a check against config drift. */
export const AuditRepositoryEventSchema = z.object({
  step: z.literal(STEP_AUDIT_REPOSITORY),
  runId: z.string().check(z.minLength(1), z.maxLength(200)),
  index: z.int().check(z.minimum(0)),
  repo: z.string().check(z.minLength(1)),
});

/** What a Map iteration left: the function's outcome, or the error Step Functions caught. */
const IterationOutcomeSchema = z.looseObject({
  index: z.int().check(z.minimum(0)),
  repo: z.string(),
  error: z.optional(z.string()),
});

export const DigestEventSchema = z.object({
  step: z.literal(STEP_DIGEST),
  runId: z.string().check(z.minLength(1), z.maxLength(200)),
  /** The execution's start (ISO 8601); default: now. */
  startedAt: z.optional(z.iso.datetime({ offset: true })),
  outcomes: z._default(z.array(IterationOutcomeSchema), []),
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
