export const FACTOR: number = 7;
