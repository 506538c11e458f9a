export * from './frames.js';
export * from './codec.js';
export * from './close-codes.js';
