/**
 * A step's `warm` (run by each worker thread before its first task): import the step's run module and load the
 * default kernel backend (the addon, or the WASM modules), so that the first task waits for neither. A task that
 * asks for another backend loads that one when it runs. Kernels are imported here, not where steps are declared:
 * the planner imports the declarations on the main thread.
 */
export async function warmRunModule(load: Promise<unknown>): Promise<void> {
  await load;
  const { loadKernels } = await import('@pipe/kernels');
  await loadKernels().catch(() => undefined);
}
