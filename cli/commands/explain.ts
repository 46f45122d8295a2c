/**
 * `image-drift explain IMAGE`: walks the diagnosis step by step, printing every probe
 * (token request, manifest HEAD and GET, tag list, Packages API) with its HTTP status and
 * error code, then the verdict and what to do. With `--from-event`, it first says what a
 * kubelet/containerd error line already implies.
 */
import picocolors from 'picocolors';
import { checkDesiredImages } from '../../lambdas/engine/audit.js';
import type { ExchangeEvent } from '../../lambdas/engine/diagnose/index.js';
import { interpretPullEvent, type PullEventInterpretation } from '../../lambdas/engine/diagnose/pull-events.js';
import { summarizeEvidence, summarizeTagHints } from '../../lambdas/engine/report/status.js';
import type { AuditResult } from '../../lambdas/engine/model.js';
import { ExitCode, UsageError } from '../exit-codes.js';
import { buildChecker, failingResults, loadCliConfig, resolveFailOn, type Env, type RegistryFlags } from '../runtime.js';
import { colorEnabled } from '../color.js';
import { commandLineImage } from './check.js';

export interface ExplainFlags extends RegistryFlags {
  fromEvent?: string;
  json?: boolean;
}

export async function explainCommand(image: string | undefined, flags: ExplainFlags, env: Env = process.env): Promise<ExitCode> {
  const event = flags.fromEvent ? interpretPullEvent(flags.fromEvent) : undefined;
  const target = image ?? event?.image;
  if (!target) {
    throw new UsageError(
      flags.fromEvent
        ? 'the event line names no image; pass it too: image-drift explain IMAGE --from-event "…"'
        : 'name the image to explain, e.g. image-drift explain ghcr.io/acme/auth-api:latest',
    );
  }
  const { config } = await loadCliConfig(flags.config);
  const exchanges: ExchangeEvent[] = [];
  const colors = picocolors.createColors(colorEnabled(env) && !flags.json);
  const out = process.stdout;

  if (!flags.json) {
    if (event) out.write(renderEventInterpretation(event, colors));
    out.write(`${colors.bold(`Probing ${target}`)}\n`);
  }
  const checker = await buildChecker(flags, config, env, (exchange) => {
    exchanges.push(exchange);
    if (!flags.json) out.write(renderExchange(exchanges.length, exchange, colors));
  });
  const [result] = await checkDesiredImages([commandLineImage(target)], checker);
  if (!result) throw new Error('the checker returned no verdict');

  if (flags.json) {
    out.write(`${JSON.stringify({ image: target, event, exchanges, result: { image: result.image, status: result.status, evidence: result.evidence, hint: result.hint } }, null, 2)}\n`);
  } else {
    if (exchanges.length === 0) out.write(colors.dim('  (no request sent)\n'));
    out.write(renderVerdict(result, colors));
    if (event) out.write(renderAgreement(event, result));
  }
  return failingResults([result], resolveFailOn(undefined, config)).length > 0 ? ExitCode.Drift : ExitCode.Clean;
}

type Colors = ReturnType<typeof picocolors.createColors>;

function renderEventInterpretation(event: PullEventInterpretation, colors: Colors): string {
  const lines = [colors.bold('What the cluster event says'), `  ${event.summary}`];
  if (event.likelyCauses.length) lines.push(`  likely: ${event.likelyCauses.join('; ')}`);
  if (event.ruledOut.length) lines.push(`  ruled out: ${event.ruledOut.join('; ')}`);
  return `${lines.join('\n')}\n\n`;
}

function renderExchange(index: number, exchange: ExchangeEvent, colors: Colors): string {
  const status = exchange.status === undefined ? colors.yellow('no answer') : statusColor(exchange.status, colors)(String(exchange.status));
  const code = exchange.code ? ` ${exchange.code}` : '';
  const note = exchange.note ? colors.dim(`  ${exchange.note}`) : '';
  return `  ${String(index).padStart(2)}. ${exchange.stage.padEnd(12)} ${exchange.method.padEnd(4)} ${exchange.url}  → ${status}${code}${note}\n`;
}

function statusColor(status: number, colors: Colors): (text: string) => string {
  if (status < 300) return colors.green;
  if (status < 400) return colors.cyan;
  if (status === 429 || status >= 500) return colors.yellow;
  return colors.red;
}

function renderVerdict(result: AuditResult, colors: Colors): string {
  const lines = ['', `${colors.bold('Verdict')}: ${result.status === 'OK' ? colors.green(result.status) : colors.red(result.status)}  ${result.image}`];
  const evidence = summarizeEvidence(result.evidence);
  if (evidence) lines.push(`  evidence: ${evidence}`);
  const tags = summarizeTagHints(result.evidence);
  if (tags) lines.push(`  tags: ${tags}`);
  if (result.evidence.candidates?.length) lines.push(`  did you mean: ${result.evidence.candidates.join(', ')}`);
  lines.push(`  ${colors.bold('what to do')}: ${result.hint}`);
  return `${lines.join('\n')}\n`;
}

/** Ties the event back to the verdict, e.g. "the node sent no credential, and the image is private". */
function renderAgreement(event: PullEventInterpretation, result: AuditResult): string {
  const credentials =
    event.credentialsSent === false
      ? 'The node sent no credential for this registry'
      : event.credentialsSent === true
        ? 'The node sent a credential'
        : 'The event does not say whether the node sent a credential';
  // A verdict the event cannot have come from (e.g. OK after an anonymous 403) means something changed or differs.
  const expected = event.expectedVerdicts;
  const mismatch =
    expected.length > 0 && !expected.includes(result.status)
      ? `\nThat is not what this event implies (${expected.join(', ')}): the registry has changed since the event (pushed, made public, deleted), or the node pulls from elsewhere (a mirror or another registry).`
      : '';
  return `\n${credentials}; the registry says ${result.status}.${mismatch}\n${event.nextSteps.length ? `Next: ${event.nextSteps.join(' ')}\n` : ''}`;
}
