/**
 * EventBridge schedule expressions, checked before they reach CloudFormation
 * (a bad expression otherwise fails only at deploy time, minutes in).
 *
 * - `rate(N unit)`: N a positive integer; unit `minute|hour|day` when N is 1,
 *   `minutes|hours|days` otherwise (EventBridge rejects `rate(1 hours)` and `rate(5 minute)`).
 * - `cron(min hour day-of-month month day-of-week year)`: six fields, UTC; exactly one of
 *   day-of-month and day-of-week must be `?`.
 */

export const DEFAULT_SCHEDULE = 'rate(1 hour)';

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** `?` allowed (day-of-month, day-of-week). */
  question?: boolean;
  /** Extra single-token forms allowed besides numbers and ranges. */
  special?: RegExp;
}

const FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, question: true, special: /^(L|LW|L-\d{1,2}|\d{1,2}W)$/ },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, question: true, special: /^([1-7]|[A-Z]{3})(L|#[1-5])$|^L$/ },
  { name: 'year', min: 1970, max: 2199 },
];

/** Seconds between runs for a `rate(...)` expression; undefined for cron or invalid expressions. */
export function rateSeconds(expression: string): number | undefined {
  const match = RATE.exec(expression.trim());
  if (!match) return undefined;
  const count = Number(match[1]);
  const unit = (match[2] ?? '').replace(/s$/, '');
  const perUnit = unit === 'minute' ? 60 : unit === 'hour' ? 3600 : 86_400;
  return count * perUnit;
}

/** Why the expression is not a valid EventBridge schedule, or undefined when it is. */
export function scheduleProblem(expression: string): string | undefined {
  if (expression !== expression.trim()) return 'remove the leading or trailing spaces';
  if (expression.startsWith('rate(')) return rateProblem(expression);
  const cron = CRON.exec(expression);
  if (cron) return cronProblem(cron[1] ?? '');
  return 'must be "rate(N minutes|hours|days)" or a six-field "cron(min hour day-of-month month day-of-week year)"';
}

function rateProblem(expression: string): string | undefined {
  const match = RATE.exec(expression);
  if (!match) return 'a rate must look like "rate(1 hour)", "rate(15 minutes)" or "rate(2 days)"';
  const count = Number(match[1]);
  const unit = match[2] ?? '';
  if (!Number.isSafeInteger(count) || count < 1) return 'the rate value must be a positive whole number';
  const plural = unit.endsWith('s');
  if (count === 1 && plural) return `write "rate(1 ${unit.slice(0, -1)})": EventBridge wants the singular unit for 1`;
  if (count > 1 && !plural) return `write "rate(${count} ${unit}s)": EventBridge wants the plural unit for values above 1`;
  return undefined;
}

function cronProblem(body: string): string | undefined {
  const parts = body.trim().split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 6) {
    return `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found ${parts.length}; e.g. "cron(0 6 * * ? *)"`;
  }
  for (const [i, field] of FIELDS.entries()) {
    const problem = cronFieldProblem(parts[i] ?? '', field);
    if (problem) return `cron ${field.name} field "${parts[i]}": ${problem}`;
  }
  const dom = parts[2];
  const dow = parts[4];
  if ((dom === '?') === (dow === '?')) {
    return 'exactly one of day-of-month (3rd field) and day-of-week (5th field) must be "?", e.g. "cron(0 6 * * ? *)"';
  }
  return undefined;
}

function cronFieldProblem(text: string, field: CronField): string | undefined {
  const upper = text.toUpperCase();
  if (upper === '?') return field.question ? undefined : '"?" is only allowed in day-of-month and day-of-week';
  for (const item of upper.split(',')) {
    if (item === '') return 'empty list item';
    if (field.special?.test(item)) continue;
    const [range, step, ...rest] = item.split('/');
    if (rest.length > 0) return `"${item}" has more than one "/"`;
    if (step !== undefined && !/^\d+$/.test(step)) return `"${item}": the increment after "/" must be a number`;
    if (range === '*' || range === undefined) continue;
    const bounds = range.split('-');
    if (bounds.length > 2) return `"${item}" is not a value or a range`;
    for (const bound of bounds) {
      const value = cronValue(bound, field);
      if (value === undefined) return `"${bound}" is not a valid value (${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names.at(-1)}` : ''})`;
    }
  }
  return undefined;
}

function cronValue(token: string, field: CronField): number | undefined {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    return n >= field.min && n <= field.max ? n : undefined;
  }
  const index = field.names?.indexOf(token) ?? -1;
  return index >= 0 ? index + 1 : undefined;
}
