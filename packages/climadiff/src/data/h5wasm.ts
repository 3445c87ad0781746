// The h5wasm module, loaded once for the NetCDF-4 reader and writer. In Node, h5wasm is built with Emscripten's
// NODERAWFS: the HDF5 library works on the host file system directly, with random access.
export type H5Module = typeof import('h5wasm');
export type H5File = InstanceType<H5Module['File']>;
export type H5Dataset = InstanceType<H5Module['Dataset']>;
export type H5Group = InstanceType<H5Module['Group']>;

interface ErrorSwitch { activate_throwing_error_handler?: () => number; deactivate_throwing_error_handler?: () => number }
let h5: Promise<H5Module> | null = null;
let errorSwitch: ErrorSwitch = {};

/** The h5wasm module, ready (loaded on first use). */
export async function loadH5(): Promise<H5Module> {
  if (!h5) {
    h5 = (async () => {
      const mod = (await import('h5wasm/node')) as unknown as H5Module & { default?: H5Module };
      const m = (mod.default ?? mod) as H5Module;
      errorSwitch = (await m.ready) as unknown as ErrorSwitch;
      return m;
    })();
  }
  return h5;
}

/**
 * Run `fn` with HDF5's error stack turned into JS exceptions (instead of h5wasm's default: diagnostics printed to
 * stderr and invalid ids returned), so each failure reaches us with its reason. The default handler is restored
 * afterwards, since the module is shared by the reader and the writer.
 */
export function throwingErrors<T>(fn: () => T): T {
  errorSwitch.activate_throwing_error_handler?.();
  try { return fn(); } finally { errorSwitch.deactivate_throwing_error_handler?.(); }
}
