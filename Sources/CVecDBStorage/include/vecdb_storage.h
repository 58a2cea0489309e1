#ifndef VECDB_STORAGE_H
#define VECDB_STORAGE_H
#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has a CRC-32C instruction (x86-64 SSE4.2, AArch64 CRC).
int vdb_crc32c_hw_available(void);

/// CRC-32C of `n` bytes continuing from `seed` (the checksum of the bytes before), with the
/// CPU instruction. Call only when vdb_crc32c_hw_available() returns 1.
uint32_t vdb_crc32c_hw(uint32_t seed, const void *p, size_t n);

#endif
