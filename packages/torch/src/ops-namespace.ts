import { aten } from './generated/ops.js';

/** PyTorch's torch.ops namespace. */
export const ops: { aten: typeof aten } = { aten };
