// nn.Parameter: a leaf Tensor that a Module registers as learnable state (PyTorch's nn.Parameter).
import { native } from '../native.js';
import { op, id } from '../runtime.js';
import { Tensor } from '../tensor.js';
import { invalidArg } from '../errors.js';

const detachOp = op('aten::detach', '');

/**
 * A Tensor that shares `data`'s storage, is a graph leaf, requires grad by default and is kept
 * (`keep()`), so no `torch.scope` ever disposes a module's weights. Assigning a Parameter to a
 * Module field registers it, as in PyTorch.
 */
export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    if (!(data instanceof Tensor)) throw invalidArg('nn.Parameter data', 'a Tensor', data);
    // Detach through the raw dispatcher so exactly one JS wrapper owns the new handle: a second
    // wrapper would be tracked by the enclosing scope and could free the parameter's handle.
    super(native.callOp(id(detachOp), data._h) as number);
    this.requiresGrad_(requiresGrad);
    this.keep();
  }
}
