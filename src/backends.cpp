// backends.cpp — the list of backends built into libtern. The one place the runtime names them.
#include "runtime.h"

#include "kernels-cpu/cpu-backend.h"

namespace tern {

void backends_init() { cpu_backend_register(); }

} // namespace tern
