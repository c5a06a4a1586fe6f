// Types for jpeg-lossless-decoder-js (its package ships none for the CommonJS entry).
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBuffer, offset?: number, length?: number, numBytes?: number): ArrayBuffer | ArrayBufferView;
  }
}
