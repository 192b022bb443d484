// vec_blocks.glsl — whole-block dot products for mul_vec_blk.comp: a lane reads one unit of whole
// blocks as aligned 32-bit words (Q4_0 and Q8_0: two blocks, 36 and 68 bytes; Q4_1: one block, 20
// bytes; Q4_K: the pair of 32-weight sub-blocks that share 32 bytes of nibbles, with the block's
// scales) against the unit's activations, held as vec4s. The backend picks it when every unit
// starts on a word (row stride a multiple of 4, an even number of blocks for the paired types).
layout(buffer_reference, std430, buffer_reference_align = 16) buffer V4 { vec4 v[]; };

#if defined(TYPE_Q4_0) || defined(TYPE_Q8_0) || defined(TYPE_Q4_K)
#define UNIT_BLOCKS 2u // (Q4_K: two 32-weight sub-blocks, a quarter of a 256-weight block)
#else
#define UNIT_BLOCKS 1u
#endif
#define UNIT_VEC4 (8u * UNIT_BLOCKS)

// sum of (q - off) * x over one word's 4 unsigned nibbles at shift sh (0: low, 4: high)
float nib4(uint q, uint sh, vec4 x, float off) {
    return dot(vec4(float((q >> sh) & 15u), float((q >> (sh + 8u)) & 15u), float((q >> (sh + 16u)) & 15u),
                    float((q >> (sh + 24u)) & 15u)) - off, x);
}
float i8x4(uint q, vec4 x) { return dot(vec4(float(int(q << 24) >> 24), float(int(q << 16) >> 24), float(int(q << 8) >> 24), float(int(q) >> 24)), x); }

// unit u of the row starting at word wr, against its activations xv
float unit_dot(U32 w, uint wr, uint u, vec4 xv[UNIT_VEC4]) {
#if defined(TYPE_Q4_0)
    const uint b = wr + 9u * u; // two blocks: d0 qs0[16] d1 qs1[16]
    uint W[9];
    [[unroll]] for (uint i = 0; i < 9u; i++) W[i] = w.v[b + i];
    float s0 = 0.0, s1 = 0.0;
    [[unroll]] for (uint t = 0; t < 4u; t++) {
        const uint q0 = (W[t] >> 16) | (W[t + 1u] << 16), q1 = W[5u + t];
        s0 += nib4(q0, 0u, xv[t], 8.0) + nib4(q0, 4u, xv[4u + t], 8.0);
        s1 += nib4(q1, 0u, xv[8u + t], 8.0) + nib4(q1, 4u, xv[12u + t], 8.0);
    }
    return unpackHalf2x16(W[0]).x * s0 + unpackHalf2x16(W[4]).y * s1;
#elif defined(TYPE_Q8_0)
    const uint b = wr + 17u * u; // two blocks: d0 qs0[32] d1 qs1[32]
    float s0 = 0.0, s1 = 0.0;
    const uint W0 = w.v[b], W8 = w.v[b + 8u];
    uint prev = W0;
    [[unroll]] for (uint t = 0; t < 8u; t++) {
        const uint next = t < 7u ? w.v[b + 1u + t] : W8;
        s0 += i8x4((prev >> 16) | (next << 16), xv[t]);
        prev = next;
        s1 += i8x4(w.v[b + 9u + t], xv[8u + t]);
    }
    return unpackHalf2x16(W0).x * s0 + unpackHalf2x16(W8).y * s1;
#elif defined(TYPE_Q4_K)
    // block (36 words): d, dmin | scales[12] (6-bit scale and min per sub-block) | qs[128];
    // unit i of a block: sub-blocks 2i (low nibbles of qs[32i..32i+31]) and 2i+1 (high nibbles)
    const uint b = wr + 36u * (u >> 2), i = u & 3u;
    const vec2 dm = unpackHalf2x16(w.v[b]);
    const uint S[3] = uint[3](w.v[b + 1u], w.v[b + 2u], w.v[b + 3u]);
    float sc[2], mn[2];
    [[unroll]] for (uint h = 0; h < 2u; h++) {
        const uint j = 2u * i + h;
        // scales[k]: byte k of S
        const uint lo = (S[j >> 2] >> (8u * (j & 3u))) & 255u;              // scales[j]     (j < 4)
        const uint hi = (S[(j + 4u) >> 2] >> (8u * (j & 3u))) & 255u;       // scales[j + 4]
        if (j < 4u) {
            sc[h] = float(lo & 63u);
            mn[h] = float(hi & 63u);
        } else {
            const uint m4 = (S[(j - 4u) >> 2] >> (8u * (j & 3u))) & 255u;  // scales[j - 4]
            const uint p8 = (S[(j + 4u) >> 2] >> (8u * (j & 3u))) & 255u;  // scales[j + 4]
            sc[h] = float((p8 & 15u) | ((m4 >> 6) << 4));
            mn[h] = float((p8 >> 4) | ((lo >> 6) << 4));
        }
    }
    float s0 = 0.0, s1 = 0.0, x0 = 0.0, x1 = 0.0;
    [[unroll]] for (uint t = 0; t < 8u; t++) {
        const uint q = w.v[b + 4u + 8u * i + t];
        s0 += nib4(q, 0u, xv[t], 0.0);
        s1 += nib4(q, 4u, xv[8u + t], 0.0);
        x0 += dot(xv[t], vec4(1.0));
        x1 += dot(xv[8u + t], vec4(1.0));
    }
    return dm.x * (sc[0] * s0 + sc[1] * s1) - dm.y * (mn[0] * x0 + mn[1] * x1);
#elif defined(TYPE_Q4_1)
    const uint b = wr + 5u * u; // d m qs[16]
    const vec2 dm = unpackHalf2x16(w.v[b]);
    float s = 0.0, sx = 0.0;
    [[unroll]] for (uint t = 0; t < 4u; t++) {
        const uint q = w.v[b + 1u + t];
        const vec4 lo = xv[t], hi = xv[4u + t];
        s += nib4(q, 0u, lo, 0.0) + nib4(q, 4u, hi, 0.0);
        sx += dot(lo + hi, vec4(1.0));
    }
    return dm.x * s + dm.y * sx;
#endif
}
