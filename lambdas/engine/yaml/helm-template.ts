/** Tells Helm chart templates apart from plain manifests, so callers skip them with one note instead of YAML errors. */

const TEMPLATES_SEGMENT = /(?:^|\/)templates\//;
const TEMPLATE_EXTENSION = /\.(?:ya?ml|tpl|txt)$/;
/**
 * `{{` where plain YAML cannot have it: at the start of a line, as an unquoted value, or an
 * action that reads Helm's built-in objects. Quoted `'{{name}}'` alone (ApplicationSet templates) does not count.
 */
const HELM_ACTION =
  /^[ \t]*(?:-[ \t]+)?\{\{|:[ \t]+\{\{|\{\{-?\s*(?:\.Values|\.Release|\.Chart|\.Capabilities|\.Files|\.Template|\$\.Values|include\s|template\s|toYaml\s|tpl\s)/gm;

/**
 * True when `path` is a file in a chart's `templates/` directory, or `text` holds Helm actions outside comments.
 * `isChartDir`, when given, confirms that the parent of `templates/` holds a Chart.yaml; without it any
 * `templates/` directory counts.
 */
export function isHelmTemplateFile(path: string, text: string, isChartDir?: (dir: string) => boolean): boolean {
  const segment = TEMPLATES_SEGMENT.exec(path);
  if (segment && TEMPLATE_EXTENSION.test(path)) {
    const chartDir = path.slice(0, segment.index);
    if (!isChartDir || isChartDir(chartDir)) return true;
  }
  return hasHelmActions(text);
}

/** True when `text` holds a Helm template action on a line that is not a comment. */
export function hasHelmActions(text: string): boolean {
  if (!text.includes('{{')) return false;
  HELM_ACTION.lastIndex = 0;
  for (let match = HELM_ACTION.exec(text); match !== null; match = HELM_ACTION.exec(text)) {
    const lineStart = text.lastIndexOf('\n', match.index) + 1;
    if (!isCommentLine(text, lineStart)) return true;
    // Jump to the next line: the rest of a comment line cannot count.
    const lineEnd = text.indexOf('\n', match.index);
    if (lineEnd === -1) return false;
    HELM_ACTION.lastIndex = lineEnd + 1;
  }
  return false;
}

function isCommentLine(text: string, lineStart: number): boolean {
  for (let i = lineStart; i < text.length; i++) {
    const c = text[i];
    if (c === ' ' || c === '\t') continue;
    return c === '#';
  }
  return false;
}
