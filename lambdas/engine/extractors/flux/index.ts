export {
  readHelmRelease,
  readFluxKustomization,
  substituteFluxVariables,
  type FluxHelmRelease,
  type FluxHelmChartRef,
  type FluxKustomization,
  type FluxKustomizeImage,
  type FluxObjectRef,
  type FluxSourceRef,
} from './flux.js';
export type { SubstitutionResult } from '../substitute.js';
