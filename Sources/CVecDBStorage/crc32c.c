// Hardware CRC-32C for the storage engine's checksums. The portable table-driven version in
// CRC32C.swift is the reference (and the fallback); the tests check that both agree.
#include "vecdb_storage.h"
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n > 0 && ((uintptr_t)p & 7) != 0) { c = _mm_crc32_u8((uint32_t)c, *p++); n--; }
    while (n >= 8) { uint64_t v; memcpy(&v, p, 8); c = _mm_crc32_u64(c, v); p += 8; n -= 8; }
    while (n > 0) { c = _mm_crc32_u8((uint32_t)c, *p++); n--; }
    return (uint32_t)c;
}

int vdb_crc32c_hw_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

uint32_t vdb_crc32c_hw(uint32_t seed, const void *p, size_t n) {
    return ~crc_hw(~seed, (const uint8_t *)p, n);
}

#else
int vdb_crc32c_hw_available(void) { return 0; }
uint32_t vdb_crc32c_hw(uint32_t seed, const void *p, size_t n) { (void)p; (void)n; return seed; }
#endif
