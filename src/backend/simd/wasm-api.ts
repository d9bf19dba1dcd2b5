/**
 * The part of the WebAssembly JS API the simd kernels use, typed here because the project compiles without the DOM
 * library (which is where TypeScript declares `WebAssembly`). Node has the API as a global.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

export type WasmExports = Record<string, unknown>;

interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: WasmExports };
  validate(bytes: Uint8Array): boolean;
}

export const wasmApi: WebAssemblyApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
