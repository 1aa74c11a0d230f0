type Tripled = { value: number };

export function triple(n: number): Tripled {
  return { value: n * 3 };
}
