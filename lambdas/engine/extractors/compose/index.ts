export { extractComposeImages, type ComposeImageSite, type ComposeOptions } from './compose-images.js';
