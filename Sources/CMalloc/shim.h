#ifndef DISKCOLLECTIONS_CMALLOC_SHIM_H
#define DISKCOLLECTIONS_CMALLOC_SHIM_H
// glibc's allocator statistics and trimming: mallinfo2() and malloc_trim(); and a prefetch hint for
// the write buffer's flush, which visits its records in key order, not in the order they sit in memory.
#include <malloc.h>

static inline void diskcollections_prefetch(const void *address) { __builtin_prefetch(address); }
#endif
