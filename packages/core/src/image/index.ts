/**
 * The embedded Glance: image records.
 * @packageDocumentation
 */
export { ImageService, imageFromRow, DEFAULT_IMAGE_ID, DEFAULT_IMAGE_NAME } from './image-service.js'
export type { Image, ImageVisibility, ImageStatus, ImageCreateRequest, ImageUpdate, ImageListFilters } from './image-service.js'
