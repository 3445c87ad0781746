// Types for the parts of gifenc (https://github.com/mattdesl/gifenc, MIT, CommonJS) that viz uses.
declare module 'gifenc' {
  export interface GIFFrameOptions {
    palette?: number[][];
    delay?: number;
    repeat?: number;
    transparent?: boolean;
    transparentIndex?: number;
    colorDepth?: number;
    first?: boolean;
  }
  export interface GIFEncoderInstance {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: GIFFrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
    bytesView(): Uint8Array;
  }
  const gifenc: { GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): GIFEncoderInstance };
  export default gifenc;
}
