// common.glsl — what every tern compute shader shares: buffers reached by device address (no
// descriptor sets), passed in one push-constant block, and byte access to packed weight blocks.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_control_flow_attributes : require

layout(buffer_reference, std430, buffer_reference_align = 4) buffer F32 { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32 { uint v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer I32 { int v[]; };

// a, b, c: sources, d, e: destinations (device addresses); dyn: values that change between
// submissions of one recorded command buffer (read at run time); n0..n5 sizes; f0, f1 parameters.
layout(push_constant) uniform Params {
    uint64_t a, b, c, d, e, dyn;
    uint n0, n1, n2, n3, n4, n5;
    float f0, f1;
} p;

// fp32 -> fp16 -> fp32 with round-to-nearest-even (subnormals included; no overflow handling).
float f16_round(float v) {
    if (abs(v) < 6.103515625e-05) return roundEven(v * 16777216.0) / 16777216.0;
    uint b = floatBitsToUint(v);
    b += 0xFFFu + ((b >> 13) & 1u);
    return uintBitsToFloat(b & 0xFFFFE000u);
}

// The i-th value behind p.dyn.
uint dyn_at(uint i) { return U32(p.dyn).v[i]; }

// Byte / 16-bit access at a byte offset into a word array (16-bit reads are at even offsets, so
// they never straddle a word).
uint byte_at(U32 buf, uint off) { return (buf.v[off >> 2] >> ((off & 3u) * 8u)) & 0xFFu; }
uint u16_at(U32 buf, uint off) { return (buf.v[off >> 2] >> ((off & 3u) * 8u)) & 0xFFFFu; }
float f16_at(U32 buf, uint off) { return unpackHalf2x16(u16_at(buf, off)).x; }
int i8_at(U32 buf, uint off) { return int(byte_at(buf, off) << 24) >> 24; }
