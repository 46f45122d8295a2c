/**
 * `run:` scripts: which image references a shell step pushes. A small reading of POSIX shell, enough
 * for CI scripts: quoting, `\` continuations, `;`/`&&`/`||`/`|` lists, `VAR=value` and `export`,
 * `for x in a b; do`, `$VAR`, `${VAR}`, `${VAR::7}`, `${VAR:0:7}`, `${VAR,,}`, `${VAR#prefix}`,
 * `$(git rev-parse [--short] HEAD)`, writes to `$GITHUB_ENV` / `$GITHUB_OUTPUT`. Anything else
 * expands to an unknown hole. A command we do not understand that looks like it publishes images
 * (`make push`, goreleaser, bake...) becomes an unknown push: it may push any tag.
 */
import { evaluateExpression, type EvalContext } from './context.js';
import { HOLES, anyValue, concat, hole, mapText, oneOf, splitReference, text, type Pattern } from './pattern.js';

export interface ShellPush {
  /** The full reference pattern pushed (`name:tag`), or undefined for an unknown push. */
  reference?: Pattern;
  /** Tags pushed for `reference`'s name when the command pushes several (`--all-tags`). */
  tags?: Pattern[];
  via: string;
  /** 0-based line of the command in the script. */
  line: number;
}

export interface ShellResult {
  pushes: ShellPush[];
  /** `NAME=value >> $GITHUB_ENV`: variables for the job's later steps. */
  env: Map<string, Pattern>;
  /** `name=value >> $GITHUB_OUTPUT` (and `::set-output`): this step's outputs. */
  outputs: Map<string, Pattern>;
}

/** Commands that publish images in ways we do not model. */
const UNKNOWN_PUBLISHER = /\b(?:push|publish|goreleaser|bake|jib|skaffold|kaniko|buildah|earthly|dagger|pack\s+build|nix\s+build|bazel\s+run|helm\s+push|release)\b/i;

/** Commands whose words may say "push" without pushing an image. */
const NOT_PUBLISHERS = new Set(['echo', 'printf', 'cat', 'git', 'gh', 'curl', 'jq', 'test', '[', '[[', 'if', 'elif', 'case', 'while', 'until', 'cosign', 'notation', 'grep', 'sed', 'awk']);

interface Word {
  pattern: Pattern;
  /** The word as written, for flag detection. */
  raw: string;
}

export function analyzeScript(script: string, ctx: EvalContext, localRefs: Pattern[] = []): ShellResult {
  const result: ShellResult = { pushes: [], env: new Map(), outputs: new Map() };
  const vars = new Map<string, Pattern>();
  for (const command of splitCommands(script)) {
    const words = command.words.map((raw) => ({ raw, pattern: expandWord(raw, ctx, vars) }));
    interpret(words, command.line, ctx, vars, result, localRefs);
  }
  return result;
}

function interpret(all: Word[], line: number, ctx: EvalContext, vars: Map<string, Pattern>, result: ShellResult, localRefs: Pattern[]): void {
  let words = all;
  while (words.length > 0 && ['do', 'then', 'else', 'sudo', 'time', 'exec', '{', '('].includes(words[0]!.raw)) words = words.slice(1);
  if (words.length === 0) return;
  const [first, ...rest] = words;
  if (!first) return;

  // `for NAME in a b c` (up to `;`/newline): the loop variable is one of the words.
  if (first.raw === 'for' && rest[1]?.raw === 'in') {
    const name = rest[0]?.raw ?? '';
    vars.set(name, oneOf(rest.slice(2).map((w) => w.pattern), `$${name}`));
    return;
  }
  // Redirections to $GITHUB_ENV / $GITHUB_OUTPUT.
  const redirect = words.findIndex((w) => w.raw === '>>' || w.raw === '>');
  if (redirect > 0) {
    const target = words[redirect + 1]?.raw.replace(/["{}]/g, '') ?? '';
    const assignment = words.slice(1, redirect).find((w) => /^[A-Za-z_][\w-]*=/.test(w.raw.replace(/^["']/, '')));
    if ((target === '$GITHUB_ENV' || target === '$GITHUB_OUTPUT') && (first.raw === 'echo' || first.raw === 'printf') && assignment) {
      const { name, value } = splitAssignment(assignment);
      (target === '$GITHUB_ENV' ? result.env : result.outputs).set(name, value);
    }
    words = words.slice(0, redirect);
  }
  const setOutput = /^["']?::set-output name=([\w-]+)::/.exec(words[1]?.raw ?? '');
  if (first.raw === 'echo' && setOutput) {
    const name = setOutput[1] ?? '';
    result.outputs.set(name, stripPrefix(words[1]!.pattern, `::set-output name=${name}::`));
    return;
  }
  // Assignments: `A=1 B=2`, `export A=1`, `readonly A=1`, `local A=1`.
  const assignments = ['export', 'readonly', 'local', 'declare'].includes(first.raw) ? rest : words;
  if (assignments.every((w) => /^[A-Za-z_]\w*=/.test(w.raw)) && assignments.length > 0) {
    for (const word of assignments) {
      const { name, value } = splitAssignment(word);
      vars.set(name, value);
    }
    return;
  }
  const tool = first.raw.replace(/^.*\//, '');
  const args = rest;
  if (tool === 'docker' || tool === 'podman' || tool === 'nerdctl') {
    dockerCommand(tool, args, line, result, localRefs);
    return;
  }
  if (tool === 'crane' || tool === 'gcrane') {
    const sub = args[0]?.raw;
    const positional = args.slice(1).filter((w) => !w.raw.startsWith('-'));
    if ((sub === 'copy' || sub === 'cp') && positional[1]) result.pushes.push({ reference: positional[1].pattern, via: `${tool} copy`, line });
    else if (sub === 'tag' && positional[0] && positional[1]) {
      result.pushes.push({ reference: concat(splitReference(positional[0].pattern).name, text(':'), positional[1].pattern), via: `${tool} tag`, line });
    } else if (sub === 'push' && positional[1]) result.pushes.push({ reference: positional[1].pattern, via: `${tool} push`, line });
    else if (sub !== undefined && UNKNOWN_PUBLISHER.test(`${sub} ${args.map((w) => w.raw).join(' ')}`)) result.pushes.push({ via: tool, line });
    return;
  }
  if (tool === 'skopeo' && args[0]?.raw === 'copy') {
    const positional = args.slice(1).filter((w) => !w.raw.startsWith('-'));
    const destination = positional[1];
    if (destination) result.pushes.push({ reference: stripPrefix(destination.pattern, 'docker://'), via: 'skopeo copy', line });
    return;
  }
  if (tool === 'regctl' && args[0]?.raw === 'image' && (args[1]?.raw === 'copy' || args[1]?.raw === 'cp')) {
    const positional = args.slice(2).filter((w) => !w.raw.startsWith('-'));
    if (positional[1]) result.pushes.push({ reference: positional[1].pattern, via: 'regctl image copy', line });
    return;
  }
  if (tool === 'ko' && ['build', 'publish', 'resolve', 'apply', 'create'].includes(args[0]?.raw ?? '')) {
    koCommand(args.slice(1), line, ctx, vars, result);
    return;
  }
  // Only the command's own unquoted words count: `case push)` labels and `[[ "$E" == "push" ]]` tests push nothing.
  const commandWords = words.filter((w) => !/^["'$]/.test(w.raw) && !w.raw.endsWith(')')).map((w) => w.raw);
  if (UNKNOWN_PUBLISHER.test(commandWords.join(' ')) && !NOT_PUBLISHERS.has(tool)) {
    const via = words.slice(0, 3).map((w) => w.raw).join(' ');
    // `helm push`, `flux push artifact`, `oras push`, `timoni mod push`: an OCI artifact at an
    // `oci://` address; only that repository (and below it, for helm's chart name) may get any tag.
    const oci = words.filter((w) => {
      const first = w.pattern[0];
      return first !== undefined && 'text' in first && first.text.startsWith('oci://');
    });
    if (oci.length === 0) {
      result.pushes.push({ via, line });
      return;
    }
    for (const word of oci) {
      const { name } = splitReference(stripPrefix(word.pattern, 'oci://'));
      const reference = tool === 'helm' ? concat(name, text('/'), anyValue('chart'), text(':'), anyValue('version')) : concat(name, text(':'), anyValue('tag'));
      result.pushes.push({ reference, via, line });
    }
  }
}

function dockerCommand(tool: string, args: Word[], line: number, result: ShellResult, localRefs: Pattern[]): void {
  let sub = args[0]?.raw;
  let rest = args.slice(1);
  if (sub === 'image' || sub === 'buildx' || sub === 'builder') {
    const next = rest[0]?.raw;
    if (sub === 'buildx' && next === 'imagetools' && rest[1]?.raw === 'create') {
      for (const ref of optionValues(rest.slice(2), ['-t', '--tag'])) result.pushes.push({ reference: ref, via: `${tool} buildx imagetools create`, line });
      return;
    }
    if (sub === 'buildx' && next === 'bake') {
      result.pushes.push({ via: `${tool} buildx bake`, line });
      return;
    }
    sub = next;
    rest = rest.slice(1);
  }
  if (sub === 'manifest' && rest[0]?.raw === 'push') {
    const positional = rest.slice(1).filter((w) => !w.raw.startsWith('-'));
    if (positional[0]) result.pushes.push({ reference: positional[0].pattern, via: `${tool} manifest push`, line });
    return;
  }
  if (sub === 'build' || sub === 'bud') {
    const refs = optionValues(rest, ['-t', '--tag']);
    const pushes = rest.some((w) => w.raw === '--push' || /^--output[= ]?.*(type=registry|push=true)/.test(w.raw)) ||
      optionValues(rest, ['-o', '--output']).some((o) => /type=registry|push=true/.test(o.map((p) => ('text' in p ? p.text : '')).join('')));
    localRefs.push(...refs);
    if (pushes) for (const ref of refs) result.pushes.push({ reference: ref, via: `${tool} build --push`, line });
    return;
  }
  if (sub === 'tag') {
    const positional = rest.filter((w) => !w.raw.startsWith('-'));
    if (positional[1]) localRefs.push(positional[1].pattern);
    return;
  }
  if (sub === 'push') {
    const allTags = rest.some((w) => w.raw === '-a' || w.raw === '--all-tags');
    const positional = rest.filter((w) => !w.raw.startsWith('-'));
    const reference = positional[0];
    if (!reference) return;
    if (allTags) {
      const local = localRefs.map(splitReference).filter((ref) => JSON.stringify(ref.name) === JSON.stringify(reference.pattern));
      result.pushes.push({ reference: reference.pattern, tags: local.length > 0 ? local.map((ref) => ref.tag) : [anyValue('tag')], via: `${tool} push --all-tags`, line });
      return;
    }
    // podman push SOURCE DESTINATION
    const destination = tool === 'podman' && positional[1] ? positional[1] : reference;
    result.pushes.push({ reference: stripPrefix(destination.pattern, 'docker://'), via: `${tool} push`, line });
  }
}

/** `ko build`: KO_DOCKER_REPO, plus a path-derived name unless `--bare`; tags from `--tags` (default latest). */
function koCommand(args: Word[], line: number, ctx: EvalContext, vars: Map<string, Pattern>, result: ShellResult): void {
  const repo = vars.get('KO_DOCKER_REPO') ?? ctx.env.get('KO_DOCKER_REPO') ?? anyValue('KO_DOCKER_REPO');
  const bare = args.some((w) => w.raw === '--bare' || w.raw === '-B');
  const name = bare ? repo : concat(repo, text('/'), anyValue('ko import path'));
  const tagValues = optionValues(args, ['-t', '--tags']);
  const tags = tagValues.length === 0 ? [text('latest')] : tagValues.flatMap(splitOnComma);
  for (const tag of tags) result.pushes.push({ reference: concat(name, text(':'), tag), via: 'ko build', line });
}

function splitOnComma(pattern: Pattern): Pattern[] {
  const out: Pattern[] = [];
  let current: Pattern = [];
  for (const part of pattern) {
    if (!('text' in part)) {
      current = concat(current, [part]);
      continue;
    }
    const pieces = part.text.split(',');
    current = concat(current, text(pieces[0] ?? ''));
    for (const piece of pieces.slice(1)) {
      out.push(current);
      current = text(piece);
    }
  }
  out.push(current);
  return out.filter((p) => p.length > 0);
}

/** Values of `-t X`, `-tX`, `--tag X`, `--tag=X`. */
function optionValues(args: Word[], names: string[]): Pattern[] {
  const out: Pattern[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    for (const name of names) {
      if (word.raw === name && args[i + 1]) out.push(args[i + 1]!.pattern);
      else if (name.startsWith('--') && word.raw.startsWith(`${name}=`)) out.push(stripPrefix(word.pattern, `${name}=`));
      else if (!name.startsWith('--') && word.raw.startsWith(name) && word.raw.length > name.length && !word.raw.startsWith('--')) {
        out.push(stripPrefix(word.pattern, name));
      }
    }
  }
  return out;
}

function stripPrefix(pattern: Pattern, prefix: string): Pattern {
  const first = pattern[0];
  if (first && 'text' in first && first.text.startsWith(prefix)) return concat(text(first.text.slice(prefix.length)), pattern.slice(1));
  return pattern;
}

function splitAssignment(word: Word): { name: string; value: Pattern } {
  const raw = word.raw.replace(/^["']/, '');
  const name = raw.slice(0, raw.indexOf('='));
  return { name, value: stripPrefix(word.pattern, `${name}=`) };
}

// ─── Words and expansion ───────────────────────────────────────────────────

interface Command {
  words: string[];
  line: number;
}

/** Splits a script into simple commands of raw words (quotes kept for expansion), with their line. */
export function splitCommands(script: string): Command[] {
  const commands: Command[] = [];
  let words: string[] = [];
  let word = '';
  let line = 0;
  let commandLine = 0;
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push({ words, line: commandLine });
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (!inWord && words.length === 0 && c !== ' ' && c !== '\t' && c !== '\n') commandLine = line;
    if (c === '\\' && script[i + 1] === '\n') {
      i++;
      line++;
      continue;
    }
    if (c === '\n') {
      line++;
      endCommand();
      continue;
    }
    if (c === '#' && !inWord) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i++;
      continue;
    }
    if (c === ' ' || c === '\t') {
      endWord();
      continue;
    }
    if (c === ';' || c === '|' || c === '&') {
      if (c === '&' && script[i + 1] === '>') {
        word += c;
        inWord = true;
        continue;
      }
      endCommand();
      if (script[i + 1] === c) i++;
      continue;
    }
    if (c === '>') {
      endWord();
      const op = script[i + 1] === '>' ? '>>' : '>';
      words.push(op);
      i += op.length - 1;
      continue;
    }
    inWord = true;
    if (c === "'" || c === '"') {
      const end = findClosingQuote(script, i);
      word += script.slice(i, end + 1);
      line += countNewlines(script.slice(i, end + 1));
      i = end;
    } else if (c === '$' && script.startsWith('${{', i)) {
      const end = script.indexOf('}}', i);
      const stop = end < 0 ? script.length - 1 : end + 1;
      word += script.slice(i, stop + 1);
      i = stop;
    } else if (c === '$' && script[i + 1] === '(') {
      const end = findClosingParen(script, i + 1);
      word += script.slice(i, end + 1);
      line += countNewlines(script.slice(i, end + 1));
      i = end;
    } else if (c === '`') {
      const end = script.indexOf('`', i + 1);
      const stop = end < 0 ? script.length - 1 : end;
      word += script.slice(i, stop + 1);
      i = stop;
    } else word += c;
  }
  endCommand();
  return commands;
}

function countNewlines(value: string): number {
  return value.split('\n').length - 1;
}

function findClosingQuote(script: string, start: number): number {
  const quote = script[start];
  for (let i = start + 1; i < script.length; i++) {
    if (quote === '"' && script[i] === '\\') {
      i++;
      continue;
    }
    if (quote === '"' && script.startsWith('${{', i)) {
      const end = script.indexOf('}}', i);
      if (end > 0) i = end + 1;
      continue;
    }
    if (quote === '"' && script[i] === '$' && script[i + 1] === '(') {
      i = findClosingParen(script, i + 1);
      continue;
    }
    if (script[i] === quote) return i;
  }
  return script.length - 1;
}

function findClosingParen(script: string, open: number): number {
  let depth = 0;
  for (let i = open; i < script.length; i++) {
    if (script[i] === '(') depth++;
    else if (script[i] === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return script.length - 1;
}

/** Expands one raw word: `${{ }}` first (GitHub does that before the shell runs), then quotes and `$`. */
export function expandWord(raw: string, ctx: EvalContext, vars: Map<string, Pattern>): Pattern {
  const out: Pattern[] = [];
  let i = 0;
  let quote: string | undefined;
  let literal = '';
  const flush = () => {
    out.push(text(literal));
    literal = '';
  };
  while (i < raw.length) {
    const c = raw[i]!;
    if (raw.startsWith('${{', i)) {
      const end = raw.indexOf('}}', i);
      if (end > 0) {
        flush();
        out.push(evaluateExpression(raw.slice(i + 3, end), ctx));
        i = end + 2;
        continue;
      }
    }
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else literal += c;
      i++;
      continue;
    }
    if (c === "'" && quote === undefined) {
      quote = "'";
      i++;
      continue;
    }
    if (c === '"') {
      quote = quote === '"' ? undefined : '"';
      i++;
      continue;
    }
    if (c === '\\' && i + 1 < raw.length) {
      literal += raw[i + 1];
      i += 2;
      continue;
    }
    if (c === '$' && raw[i + 1] === '(') {
      const end = findClosingParen(raw, i + 1);
      flush();
      out.push(commandSubstitution(raw.slice(i + 2, end), ctx, vars));
      i = end + 1;
      continue;
    }
    if (c === '`') {
      const end = raw.indexOf('`', i + 1);
      flush();
      out.push(commandSubstitution(raw.slice(i + 1, end < 0 ? raw.length : end), ctx, vars));
      i = end < 0 ? raw.length : end + 1;
      continue;
    }
    if (c === '$' && raw[i + 1] === '{') {
      const end = raw.indexOf('}', i);
      if (end > 0) {
        flush();
        out.push(parameterExpansion(raw.slice(i + 2, end), ctx, vars));
        i = end + 1;
        continue;
      }
    }
    if (c === '$' && /[A-Za-z_]/.test(raw[i + 1] ?? '')) {
      const name = /^[A-Za-z_]\w*/.exec(raw.slice(i + 1))?.[0] ?? '';
      flush();
      out.push(variable(name, ctx, vars));
      i += name.length + 1;
      continue;
    }
    literal += c;
    i++;
  }
  flush();
  return concat(...out);
}

function commandSubstitution(command: string, ctx: EvalContext, vars: Map<string, Pattern>): Pattern {
  const trimmed = command.trim();
  // `$(echo "$X" | tr '[:upper:]' '[:lower:]')`, the usual way to lower-case an image name.
  const lowered = /^echo\s+(.+?)\s*\|\s*tr\s+["']?(?:\[:upper:\]|A-Z)["']?\s+["']?(?:\[:lower:\]|a-z)["']?$/.exec(trimmed);
  if (lowered) return mapText(expandWord(lowered[1] ?? '', ctx, vars), (t) => t.toLowerCase());
  // `--short[=N]` prints at least N characters, more when N would be ambiguous.
  if (/^git\s+rev-parse\s+--short(?:=\d+)?\s+(?:HEAD|"?\$\{?GITHUB_SHA\}?"?)$/.test(trimmed)) return hole(HOLES.shortSha());
  if (/^git\s+rev-parse\s+(?:HEAD|"?\$\{?GITHUB_SHA\}?"?)$/.test(trimmed)) return hole(HOLES.sha);
  return anyValue(`$(${trimmed})`);
}

/** `${NAME}`, `${NAME::7}`, `${NAME:0:7}`, `${NAME,,}`, `${NAME^^}`, `${NAME#prefix}`, `${NAME:-default}`. */
function parameterExpansion(body: string, ctx: EvalContext, vars: Map<string, Pattern>): Pattern {
  const m = /^([A-Za-z_]\w*)(.*)$/.exec(body);
  if (!m) return anyValue(`\${${body}}`);
  const name = m[1] ?? '';
  const op = m[2] ?? '';
  const value = variable(name, ctx, vars);
  if (op === '') return value;
  // `${GITHUB_REF#refs/tags/}`, `${GITHUB_REF##*/}`, `${GITHUB_REF/refs\/tags\//}`: the ref's name.
  if (name === 'GITHUB_REF' && /^(?:#refs\/(?:tags|heads|\*)\/|##\*\/|\/refs\\?\/(?:tags|heads)\\?\/\/?)$/.test(op)) return evaluateExpression('github.ref_name', ctx);
  const substring = /^:(\d*):(\d+)$/.exec(op);
  if (substring) {
    const isSha = value.length === 1 && 'hole' in value[0]! && value[0].hole.label === HOLES.sha.label;
    if (isSha && (substring[1] === '' || substring[1] === '0')) return hole(HOLES.shortSha(Number(substring[2])));
    return anyValue(`\${${body}}`);
  }
  if (op === ',,') return mapText(value, (t) => t.toLowerCase());
  if (op === '^^') return mapText(value, (t) => t.toUpperCase());
  const strip = /^#(#?)(.*)$/.exec(op);
  if (strip && !strip[2]?.includes('*')) return stripPrefix(value, strip[2] ?? '');
  const fallback = /^:?-(.*)$/.exec(op);
  if (fallback) return oneOf([value, text(fallback[1] ?? '')], `\${${body}}`);
  return anyValue(`\${${body}}`);
}

function variable(name: string, ctx: EvalContext, vars: Map<string, Pattern>): Pattern {
  const known = vars.get(name) ?? ctx.env.get(name);
  if (known) return known;
  switch (name) {
    case 'GITHUB_SHA':
      return hole(HOLES.sha);
    case 'GITHUB_REF_NAME':
      return evaluateExpression('github.ref_name', ctx);
    case 'GITHUB_REF':
      return evaluateExpression('github.ref', ctx);
    case 'GITHUB_REPOSITORY':
      return evaluateExpression('github.repository', ctx);
    case 'GITHUB_REPOSITORY_OWNER':
      return evaluateExpression('github.repository_owner', ctx);
    case 'GITHUB_RUN_NUMBER':
    case 'GITHUB_RUN_ID':
      return hole(HOLES.number(name));
    default:
      return anyValue(`$${name}`);
  }
}
