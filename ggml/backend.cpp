// backend.cpp — backend registry (a small mutex-protected list).
#include "backend.h"

#include <cstring>
#include <mutex>

namespace tern {

namespace {
std::mutex &registry_mutex() {
    static std::mutex m;
    return m;
}
std::vector<const backend_iface *> &registry() {
    static std::vector<const backend_iface *> r;
    return r;
}
} // namespace

void backend_register(const backend_iface *b) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    for (const backend_iface *x : registry())
        if (x == b) return;
    registry().push_back(b);
}

const backend_iface *backend_find(const char *name) {
    std::lock_guard<std::mutex> lock(registry_mutex());
    for (const backend_iface *x : registry())
        if (std::strcmp(x->name, name) == 0) return x;
    return nullptr;
}

std::vector<const backend_iface *> backend_list() {
    std::lock_guard<std::mutex> lock(registry_mutex());
    return registry();
}

} // namespace tern
