// torch.nn.functional: stateless operations that the layers in nn/modules call. One concern per
// file under ./functional/.
export * from './functional/activation.js';
export * from './functional/linear.js';
export * from './functional/conv.js';
export * from './functional/normalization.js';
export * from './functional/dropout.js';
export * from './functional/embedding.js';
export * from './functional/loss.js';
export * from './functional/padding.js';
export * from './functional/interpolate.js';
export * from './functional/pooling.js';
export * from './functional/attention.js';
