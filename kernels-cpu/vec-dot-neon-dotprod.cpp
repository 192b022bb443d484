// vec-dot-neon-dotprod.cpp — the NEON kernels again, built with -march=armv8.2-a+dotprod (see
// vec-dot-neon.cpp); only called after kernels_neon_dotprod() has checked HWCAP_ASIMDDP.
#define TERN_NEON_DOTPROD_BUILD 1
#include "vec-dot-neon.cpp"
