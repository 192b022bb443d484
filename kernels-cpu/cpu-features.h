// cpu-features.h — what the CPU (and the OS, via XGETBV) lets us run, read once.
#pragma once

namespace tern {

struct cpu_features {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
    bool neon = false, neon_dotprod = false;
};

const cpu_features &cpu_features_get();

} // namespace tern
