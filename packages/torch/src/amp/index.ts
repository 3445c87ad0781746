// torch.amp: gradient scaling for float16 mixed precision (torch.autocast itself is exported at the top level).
export { GradScaler } from './grad-scaler.js';
export type { GradScalerOptions, GradScalerStateDict, GradScalerDevice, ScalableOptimizer } from './grad-scaler.js';
