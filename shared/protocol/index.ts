// The protocol package: the only code that imports the generated ts-proto types (./gen).
export * from './gen/fl/v1/federation.js';
