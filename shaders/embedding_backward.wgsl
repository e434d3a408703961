// Embedding lookup, backward: dtable[v, c] += sum over i with ids[i] == v of dout[i, c], summed in
// increasing i. Deterministic and atomic-free: the CPU builds a CSR index of the ids (buildEmbeddingGradIndex
// in src/engine/ops/cpu/embedding.ts) and each invocation owns one (distinct row, channel) pair, so only
// rows that occur are touched and no two invocations write the same element. With position ids as `ids`
// the same kernel gives the position-table gradient.
//   index (u32): [rows (U) | offsets (U + 1) | positions (N)], rows ascending, positions of each row in
//   increasing i; dout (N, C) f32; dtable (V, C) f32.
// A row that occurs k times costs its invocations k sequential loads (a padding token repeated over a
// whole batch is the worst case); every other row is independent.
// Always accumulates: dtable += sum, with the sum starting from the current value (as the CPU reference
// adds in order). Untouched rows are not written, so clear dtable first for a fresh gradient.
// Guards (the index comes from trusted CPU code, but the kernel still never goes out of bounds): rows
// >= V are skipped, positions are clamped to N - 1.
//
// Bindings: 0 index (read), 1 dout (read), 2 dtable (write), 3 params (uniform).
// Dispatch: grid1d(ceil(U * C / WG)); invocation (u, c) at u * C + c. dtable aliases no input.

override WG: u32 = 256u;

struct Params {
  n: u32,           // U * C
  channels: u32,    // C
  unique_rows: u32, // U
  count: u32,       // N
  vocab: u32,       // V
}

@group(0) @binding(0) var<storage, read> grad_index: array<u32>;
@group(0) @binding(1) var<storage, read> dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn embedding_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let u = i / p.channels;
  let c = i - u * p.channels;
  let row = grad_index[u];
  if (row >= p.vocab) { return; }
  let begin = grad_index[p.unique_rows + u];
  let end = min(grad_index[p.unique_rows + u + 1u], p.count);
  let positions = 2u * p.unique_rows + 1u;
  let at = row * p.channels + c;
  var acc = dtable[at];
  for (var k = begin; k < end; k++) {
    let pos = min(grad_index[positions + k], p.count - 1u);
    acc = acc + dout[pos * p.channels + c];
  }
  dtable[at] = acc;
}
