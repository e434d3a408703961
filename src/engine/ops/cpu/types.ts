/** CPU references run on float32 (to mirror the GPU) or float64 (for gradient checks). */
export type Vec = Float32Array | Float64Array;
