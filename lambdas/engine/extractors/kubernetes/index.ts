export { listResources, type KubernetesResource } from './resources.js';
export {
  extractPodImages,
  extractResourcePodImages,
  findContainerImages,
  findPodSpecPaths,
  type ContainerImageSlot,
} from './pod-images.js';
export { podPullConfig, pullSecretNames, serviceAccountOf, type ServiceAccountPullSecrets } from './pull-secrets.js';
export type { ContainerImageSite, ContainerList, Extracted, ValuePath } from '../types.js';
