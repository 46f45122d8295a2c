/**
 * Reads `helm template` output: a YAML stream whose documents each start with `# Source: <chart>/<path>`,
 * the template that produced them (`<chart>/charts/<sub>/templates/...` for subcharts).
 */

export interface RenderedManifest {
  /** The template path inside the chart, without the chart's name: `templates/deployment.yaml`. */
  template: string;
  /** The document's text. */
  text: string;
}

const SOURCE = /^# Source: (.+)$/m;

export function splitHelmOutput(manifest: string): RenderedManifest[] {
  const out: RenderedManifest[] = [];
  for (const chunk of manifest.split(/^---[ \t]*$/m)) {
    if (chunk.trim() === '') continue;
    const source = SOURCE.exec(chunk)?.[1]?.trim();
    const template = source === undefined ? '' : source.slice(source.indexOf('/') + 1);
    out.push({ template, text: chunk });
  }
  return out;
}

/** The 1-based line of the first line of `text` holding `needle` literally; undefined when none does. */
export function lineContaining(text: string, needle: string): number | undefined {
  if (needle === '') return undefined;
  const index = text.indexOf(needle);
  if (index < 0) return undefined;
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The template line that writes a container's image: the image text itself when the template holds it
 * literally, else the first `image:` line within a few lines after `name: <container>`. Undefined when
 * neither is there (the image comes from a named template written elsewhere, say).
 */
export function imageLineInTemplate(text: string, container: string, image: string): number | undefined {
  const literal = lineContaining(text, image);
  if (literal !== undefined) return literal;
  const lines = text.split('\n');
  const name = new RegExp(`^\\s*(?:-\\s+)?name:\\s*["']?${container.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*$`);
  for (let i = 0; i < lines.length; i++) {
    if (!name.test(lines[i] ?? '')) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 12); j++) {
      if (/^\s*(?:-\s+)?image:/.test(lines[j] ?? '')) return j + 1;
      if (/^\s*-\s+name:/.test(lines[j] ?? '')) break;
    }
  }
  return undefined;
}
