// A full garbage collection on demand, for tests that count live tensors: tensors dropped earlier outside any
// scope are freed by GC finalisers at unpredictable moments, which would otherwise change the count mid-test.
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
export const collectGarbage = vm.runInNewContext('gc') as () => void;
