export {
  renderKustomization,
  findKustomizationFile,
  isKustomizationDir,
  inlineFirstLine,
  type KustomizeImageOverride,
  type RenderOptions,
  type KustomizationEdits,
  type RenderedContainerImage,
  type KustomizeRender,
} from './render.js';
export { parseArgoKustomizeImage, type ImageOverrideMerge } from './overrides.js';
export { splitKustomizeImage, isImageMatched, transformImage } from './images.js';
export { KUSTOMIZATION_FILE_NAMES } from './kustomization.js';
export type { TargetSelector } from './kustomization.js';
