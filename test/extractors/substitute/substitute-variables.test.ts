import { describe, expect, it } from 'vitest';
import { substituteVariables } from '../../../lambdas/engine/extractors/substitute.js';

const vars = { SET: 'v', EMPTY: '' };

describe('substituteVariables (compose dialect)', () => {
  it.each([
    ['${SET}', 'v', []],
    ['$SET-x', 'v-x', []],
    ['${MISSING}', '${MISSING}', ['MISSING']],
    ['$MISSING', '$MISSING', ['MISSING']],
    ['${MISSING:-d}', 'd', []],
    ['${EMPTY:-d}', 'd', []],
    ['${EMPTY-d}', '', []],
    ['${MISSING-d}', 'd', []],
    ['${MISSING:?required}', '${MISSING:?required}', ['MISSING']],
    ['${SET:+alt}', 'alt', []],
    ['${MISSING:+alt}', '', []],
    ['$$SET', '$SET', []],
    ['a:${ .Values.x }', 'a:${ .Values.x }', []],
  ])('%s → %s', (text, expected, unresolved) => {
    expect(substituteVariables(text, vars, { dialect: 'compose' })).toEqual({ text: expected, unresolved });
  });

  it('empties unresolved variables when asked, and lists each once', () => {
    expect(substituteVariables('${A}:${A}-$B', {}, { dialect: 'compose', onMissing: 'empty' })).toEqual({ text: ':-', unresolved: ['A', 'B'] });
  });
});
