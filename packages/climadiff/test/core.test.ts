// The alpha-cosine schedule's two closed forms agree: alpha_t from logSNR (sqrt(sigmoid(lambda_t)), eq. 2.67
// left) equals cos(pi/2 (t0 + t (t1 - t0))) (eq. 2.67 right), and likewise sigma_t (eq. 2.68).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '@climadiff/torch';
import { alphaCosineSchedule, alphaSigma } from '../src/diffusion/index.js';

test('alpha-cosine: eq. 2.64 through sigmoid equals the cosine/sine forms of eqs 2.67-2.68', () => {
  const lmin = -30, lmax = 30;
  const s = alphaCosineSchedule({ logsnrMin: lmin, logsnrMax: lmax });
  const t0 = (2 / Math.PI) * Math.atan(Math.exp(-lmax / 2));
  const t1 = (2 / Math.PI) * Math.atan(Math.exp(-lmin / 2));
  const t = torch.linspace(0, 1, 101, { dtype: 'float64' });
  const { alpha, sigma } = alphaSigma(s.logsnr(t));
  const angle = t.mul(t1 - t0).add(t0).mul(Math.PI / 2);
  assert.ok(alpha.sub(angle.cos()).abs().max().item() < 1e-12);
  assert.ok(sigma.sub(angle.sin()).abs().max().item() < 1e-12);
});
