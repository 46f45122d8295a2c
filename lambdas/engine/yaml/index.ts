export { loadYamlDocuments, DEFAULT_MAX_YAML_BYTES, type LoadYamlOptions, type LoadedYaml } from './load.js';
export { createYamlDocument, yamlDocumentFromValue, type YamlDocument, type YamlPath } from './document.js';
export { isHelmTemplateFile, hasHelmActions } from './helm-template.js';
