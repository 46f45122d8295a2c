/**
 * The longest gap between two runs of a schedule expression, for the heartbeat alarm
 * ("no successful run in twice the schedule"). No AWS import: the CDK construct calls it at synth.
 *
 * - `rate(N unit)`: exactly N units.
 * - `cron(...)`: the schedule is walked minute by minute over 15 days and the longest gap between two
 *   matches is returned. Expressions whose days depend on the month's length (`L`, `W`, `#`), or that
 *   fire less often than twice in 15 days (monthly, yearly), return undefined: the caller then needs an
 *   explicit heartbeat window.
 */
import { rateSeconds } from './schedule.js';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** Minutes walked for cron expressions: two weeks and a day, so weekly schedules show two runs. */
const WALK_MINUTES = 15 * 24 * 60;

export function scheduleIntervalSeconds(expression: string): number | undefined {
  const rate = rateSeconds(expression);
  if (rate !== undefined) return rate;
  const match = /^cron\((.*)\)$/.exec(expression.trim());
  if (!match) return undefined;
  const parts = (match[1] ?? '').trim().split(/\s+/);
  if (parts.length !== 6) return undefined;
  const [minute, hour, dayOfMonth, month, dayOfWeek] = parts as [string, string, string, string, string];
  const sets = [
    expand(minute, 0, 59),
    expand(hour, 0, 23),
    expand(dayOfMonth, 1, 31),
    expand(month, 1, 12, MONTHS),
    expand(dayOfWeek, 1, 7, DAYS),
  ];
  if (sets.some((set) => set === undefined)) return undefined;
  const [minutes, hours, days, months, weekdays] = sets as Set<number>[] as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];

  // A fixed Monday in January; the year field is not walked (year-bounded crons are rare and end anyway).
  const start = Date.UTC(2027, 0, 4);
  let previous: number | undefined;
  let longest = 0;
  let matches = 0;
  for (let i = 0; i < WALK_MINUTES; i++) {
    const at = new Date(start + i * 60_000);
    if (!minutes.has(at.getUTCMinutes()) || !hours.has(at.getUTCHours())) continue;
    if (!months.has(at.getUTCMonth() + 1)) continue;
    // EventBridge: day-of-week 1 = Sunday; one of the two day fields is "?" (matches everything).
    if (!days.has(at.getUTCDate()) || !weekdays.has(at.getUTCDay() + 1)) continue;
    matches += 1;
    if (previous !== undefined) longest = Math.max(longest, (at.getTime() - previous) / 1000);
    previous = at.getTime();
  }
  return matches >= 2 ? longest : undefined;
}

/** The values a cron field allows, or undefined for forms that depend on the month (L, W, #). */
function expand(field: string, min: number, max: number, names?: readonly string[]): Set<number> | undefined {
  const out = new Set<number>();
  if (field === '?' || field === '*') {
    for (let v = min; v <= max; v++) out.add(v);
    return out;
  }
  for (const item of field.toUpperCase().split(',')) {
    if (/[LW#]/.test(item.replace(/(JUL|WED)/g, ''))) return undefined;
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) return undefined;
    let low: number | undefined;
    let high: number | undefined;
    if (range === '*') {
      low = min;
      high = max;
    } else {
      const [a = '', b] = range.split('-');
      low = value(a, names);
      high = b === undefined ? (stepText === undefined ? low : max) : value(b, names);
    }
    if (low === undefined || high === undefined) return undefined;
    for (let v = low; v <= high; v += step) out.add(v);
  }
  return out;
}

function value(token: string, names?: readonly string[]): number | undefined {
  if (/^\d+$/.test(token)) return Number(token);
  const index = names?.indexOf(token) ?? -1;
  return index >= 0 ? index + 1 : undefined;
}
