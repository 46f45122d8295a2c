/**
 * Shell-style variable substitution as docker compose and Flux postBuild do it. One pass, regular
 * expressions compiled once. Unknown variables are kept as written (so the reference parser reports
 * them as UNRESOLVED_TEMPLATE) or emptied, and always listed.
 */

export interface SubstitutionResult {
  text: string;
  /** Names used without a value and without a default, in order of first use. */
  unresolved: string[];
}

export interface SubstitutionOptions {
  /** `flux`: `$${VAR}` is a literal `${VAR}`, bare `$VAR` is left alone. `compose`: `$$` is a literal `$`, bare `$VAR` is substituted. */
  dialect: 'flux' | 'compose';
  /** What an unresolved variable becomes: kept as written (default), or empty as the tools themselves do when not strict. */
  onMissing?: 'keep' | 'empty';
}

const FLUX_PATTERN = /\$\$\{([^}]*)\}|\$\{([^}]*)\}/g;
const COMPOSE_PATTERN = /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const EXPRESSION = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=?+])([\s\S]*))?$/;

export function substituteVariables(
  text: string,
  vars: Readonly<Record<string, string>>,
  options: SubstitutionOptions,
): SubstitutionResult {
  const unresolved: string[] = [];
  if (!text.includes('$')) return { text, unresolved };
  const keep = (options.onMissing ?? 'keep') === 'keep';
  const missing = (name: string, written: string): string => {
    if (!unresolved.includes(name)) unresolved.push(name);
    return keep ? written : '';
  };
  const lookup = (name: string): string | undefined => (Object.hasOwn(vars, name) ? vars[name] : undefined);

  const evaluate = (written: string, expression: string): string => {
    const parsed = EXPRESSION.exec(expression);
    if (!parsed) return written; // not a variable expression (`${ .Values.x }`, `${}`): left for the parser to report
    const name = parsed[1] as string;
    const operator = parsed[2];
    const word = parsed[3] ?? '';
    const value = lookup(name);
    const empty = value === undefined || value === '';
    switch (operator) {
      case undefined:
        return value ?? missing(name, written);
      case ':-':
      case ':=':
        return empty ? word : (value as string);
      case '-':
      case '=':
        return value ?? word;
      case ':?':
        return empty ? missing(name, written) : (value as string);
      case '?':
        return value ?? missing(name, written);
      case ':+':
        return empty ? '' : word;
      case '+':
        return value === undefined ? '' : word;
      default:
        return written;
    }
  };

  if (options.dialect === 'flux') {
    const result = text.replace(FLUX_PATTERN, (written, escaped: string | undefined, expression: string | undefined) =>
      escaped !== undefined ? `\${${escaped}}` : evaluate(written, expression ?? ''),
    );
    return { text: result, unresolved };
  }
  const result = text.replace(COMPOSE_PATTERN, (written, braced: string | undefined, bare: string | undefined) => {
    if (written === '$$') return '$';
    if (bare !== undefined) return lookup(bare) ?? missing(bare, written);
    return evaluate(written, braced ?? '');
  });
  return { text: result, unresolved };
}
