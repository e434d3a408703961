// Embedding lookup, forward: out[i, c] = table[ids[i], c] (+ pos_table[pos(i), c]).
//   ids (N) u32 (i32 ids bind as the same bits), table (V, C), out (N, C) f32.
//   Tables are bound as u32 words: f32 tables are bitcast, f16 tables (TABLE_F16 / POS_F16) hold two
//   halves per word, element 2k in the low half, read with unpack2x16float (core WGSL, no shader-f16).
//   Each element is addressed by its flat index row * C + c, so odd C (rows not word-aligned) works.
//   Optional position table (P, C), added in the same pass (GPT-2: token + learned position embedding):
//     POS_MODE 0: none (pos_ids / pos_table are unused; bind any buffers, e.g. ids and table again)
//     POS_MODE 1: pos(i) = pos_start + i mod seq_len      (rows are whole sequences of seq_len tokens)
//     POS_MODE 2: pos(i) = pos_ids[i]                     (explicit positions, e.g. packed sequences)
// Out-of-range ids (and negative i32 ids, which read as >= 2^31) are CLAMPED to V - 1, positions to P - 1:
// the kernel never reads out of bounds, but it cannot report bad ids, so the CPU side validates them
// (checkIds in src/engine/ops/cpu/embedding.ts) before upload.
// ROW_RANGE: the table is one part of a larger table split by rows (a vocabulary too large for one
// binding): it holds rows [first_row, first_row + V). Output rows whose id falls outside that range are
// left untouched (no clamping), so one dispatch per part writes every output row exactly once.
//
// Bindings: 0 ids (read), 1 table (read), 2 pos_ids (read), 3 pos_table (read), 4 out (write),
//           5 params (uniform).
// Dispatch: grid1d(ceil(N * C / WG)); one invocation per output element, so neighbours read neighbouring
// words of one table row. Caller guarantees V * C < 2^32 and P * C < 2^32; out aliases no input.

override WG: u32 = 256u;
override TABLE_F16: bool = false;
override POS_F16: bool = false;
override POS_MODE: u32 = 0u;
override ROW_RANGE: bool = false;

struct Params {
  n: u32,         // N * C
  channels: u32,  // C
  vocab: u32,     // V
  pos_count: u32, // P
  seq_len: u32,
  pos_start: u32,
  first_row: u32, // ROW_RANGE only
}

@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> pos_ids: array<u32>;
@group(0) @binding(3) var<storage, read> pos_table: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

fn table_at(e: u32) -> f32 {
  if (TABLE_F16) {
    return unpack2x16float(table[e >> 1u])[e & 1u];
  }
  return bitcast<f32>(table[e]);
}

fn pos_table_at(e: u32) -> f32 {
  if (POS_F16) {
    return unpack2x16float(pos_table[e >> 1u])[e & 1u];
  }
  return bitcast<f32>(pos_table[e]);
}

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= p.n) { return; }
  let row = i / p.channels;
  let c = i - row * p.channels;
  var id = min(ids[row], p.vocab - 1u);
  if (ROW_RANGE) {
    // Unsigned: ids below first_row wrap to huge values and fail the same test.
    let local = ids[row] - p.first_row;
    if (local >= p.vocab) { return; }
    id = local;
  }
  var v = table_at(id * p.channels + c);
  if (POS_MODE != 0u) {
    var pos = p.pos_start + row % p.seq_len;
    if (POS_MODE == 2u) {
      pos = pos_ids[row];
    }
    pos = min(pos, p.pos_count - 1u);
    v = v + pos_table_at(pos * p.channels + c);
  }
  out[i] = v;
}
