/** Adam (Kingma & Ba) as plain data, so its moments travel in a trainer's state JSON. */
export interface AdamState {
  step: number;
  m: number[];
  v: number[];
}

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export function adamInit(size: number): AdamState {
  return { step: 0, m: new Array(size).fill(0), v: new Array(size).fill(0) };
}

/** One ascent step: returns params + lr * m_hat / (sqrt(v_hat) + eps); updates the state in place. */
export function adamAscend(params: readonly number[], gradient: ArrayLike<number>, state: AdamState, options: AdamOptions): number[] {
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const epsilon = options.epsilon ?? 1e-8;
  state.step++;
  const correction1 = 1 - beta1 ** state.step;
  const correction2 = 1 - beta2 ** state.step;
  return params.map((value, i) => {
    state.m[i] = beta1 * state.m[i] + (1 - beta1) * gradient[i];
    state.v[i] = beta2 * state.v[i] + (1 - beta2) * gradient[i] * gradient[i];
    return value + (options.learningRate * (state.m[i] / correction1)) / (Math.sqrt(state.v[i] / correction2) + epsilon);
  });
}
