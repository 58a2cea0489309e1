// VDB_CLONES: compile a kernel for AVX-512, AVX2 and baseline x86-64 (`target_clones`), picked
// at load time by an ifunc resolver. Shared by the nn and transformer kernels.
#ifndef VDB_CLONES_H
#define VDB_CLONES_H

// Under ThreadSanitizer the clones' ifunc resolvers would be instrumented, and they run during
// relocation, before the sanitizer's runtime is up: build the baseline only.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VDB_NO_CLONES 1
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && !defined(VDB_NO_CLONES)
#define VDB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VDB_CLONES
#endif

#endif
