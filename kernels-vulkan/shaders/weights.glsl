// weights.glsl — dequantization of one weight, shared by mul_mat.comp and mul_vec.comp. The
// including shader defines TYPE_<type>.
// Weight l (0..31) of chunk c (elements 32c .. 32c+31) of the row starting at byte `row`. The 32
// lanes of a subgroup take the 32 weights of one chunk, so their loads of weights and activations
// fall on neighbouring addresses.
float weight(U32 w, uint row, uint c, uint l) {
#if defined(TYPE_F32)
    return uintBitsToFloat(w.v[(row >> 2) + 32u * c + l]);
#elif defined(TYPE_F16)
    return f16_at(w, row + 2u * (32u * c + l));
#elif defined(TYPE_Q8_0)
    const uint b = row + 34u * c;
    return f16_at(w, b) * float(i8_at(w, b + 2u + l));
#elif defined(TYPE_Q4_0)
    const uint b = row + 18u * c;
    const uint x = byte_at(w, b + 2u + (l & 15u));
    return f16_at(w, b) * (float(l < 16u ? x & 15u : x >> 4) - 8.0);
#elif defined(TYPE_Q4_1)
    const uint b = row + 20u * c;
    const uint x = byte_at(w, b + 4u + (l & 15u));
    return f16_at(w, b) * float(l < 16u ? x & 15u : x >> 4) + f16_at(w, b + 2u);
#elif defined(TYPE_Q4_K)
    // block: f16 d, f16 dmin, scales[12], qs[128]; sub-block j = c % 8 of block c / 8
    const uint b = row + 144u * (c >> 3), j = c & 7u;
    uint sc, mn;
    if (j < 4u) {
        sc = byte_at(w, b + 4u + j) & 63u;
        mn = byte_at(w, b + 8u + j) & 63u;
    } else {
        sc = (byte_at(w, b + 8u + j) & 15u) | ((byte_at(w, b + j) >> 6) << 4);
        mn = (byte_at(w, b + 8u + j) >> 4) | ((byte_at(w, b + 4u + j) >> 6) << 4);
    }
    const uint q = (byte_at(w, b + 16u + 32u * (j >> 1) + l) >> ((j & 1u) * 4u)) & 15u;
    return f16_at(w, b) * float(sc) * float(q) - f16_at(w, b + 2u) * float(mn);
#elif defined(TYPE_Q6_K)
    // block: ql[128], qh[64], scales[16] (i8), f16 d; chunk = half h, quarter r of block c / 8
    const uint b = row + 210u * (c >> 3), h = (c >> 2) & 1u, r = c & 3u;
    const uint ql = b + 64u * h + ((r & 1u) != 0u ? 32u : 0u), qh = b + 128u + 32u * h;
    const uint v = ((byte_at(w, ql + l) >> (r >= 2u ? 4u : 0u)) & 15u) | (((byte_at(w, qh + l) >> (2u * r)) & 3u) << 4);
    return f16_at(w, b + 208u) * float(i8_at(w, b + 192u + 8u * h + l / 16u + 2u * r)) * (float(v) - 32.0);
#else
#error "no TYPE_ defined"
#endif
}

// Eight weights of chunk c of a row at once (tiled loaders): quarter q (0..3) of the chunk. v[i] is
// the weight at position k8(q, i) of the chunk. Q4_0, Q4_1: one 32-bit run of nibble bytes gives
// positions 4q..4q+3 (low nibbles) and 16+4q..16+4q+3 (high); Q8_0: eight bytes, positions
// 8q..8q+7; other types: weight() eight times.
uint k8(uint q, uint i) {
#if defined(TYPE_Q4_0) || defined(TYPE_Q4_1)
    return i < 4u ? 4u * q + i : 16u + 4u * q + (i - 4u);
#else
    return 8u * q + i;
#endif
}
void weight8(U32 w, uint row, uint c, uint q, out float v[8]) {
#if defined(TYPE_Q4_0) || defined(TYPE_Q4_1)
#if defined(TYPE_Q4_0)
    const uint b = row + 18u * c, qs = b + 2u + 4u * q;
    const float d = f16_at(w, b), m = -8.0 * d;
#else
    const uint b = row + 20u * c, qs = b + 4u + 4u * q;
    const float d = f16_at(w, b), m = f16_at(w, b + 2u);
#endif
    const uint x = u16_at(w, qs) | (u16_at(w, qs + 2u) << 16);
    [[unroll]] for (uint i = 0; i < 4u; i++) {
        v[i] = d * float((x >> (8u * i)) & 15u) + m;
        v[4u + i] = d * float((x >> (8u * i + 4u)) & 15u) + m;
    }
#elif defined(TYPE_Q8_0)
    const uint b = row + 34u * c, qs = b + 2u + 8u * q;
    const float d = f16_at(w, b);
    [[unroll]] for (uint h = 0; h < 4u; h++) {
        const uint x = u16_at(w, qs + 2u * h);
        v[2u * h] = d * float(int(x << 24) >> 24);
        v[2u * h + 1u] = d * float(int(x << 16) >> 24);
    }
#else
    [[unroll]] for (uint i = 0; i < 8u; i++) v[i] = weight(w, row, c, 8u * q + i);
#endif
}
