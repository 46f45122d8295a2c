export { extractHelmValuesImages, dotted, type HelmImageSite, type HelmImageOptions, type LayerLocation } from './images.js';
export { loadHelmChart, chartValuesLayer, subchartKeys, type HelmChart, type HelmDependency } from './chart.js';
export {
  mergeHelmValues,
  mergeHelmValueLayers,
  applyHelmParameters,
  helmParameterLayer,
  parseHelmParameterName,
  typedHelmValue,
  valueAt,
  type HelmParameter,
  type HelmValuesLayer,
} from './values.js';
