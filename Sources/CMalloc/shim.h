#ifndef DISKCOLLECTIONS_CMALLOC_SHIM_H
#define DISKCOLLECTIONS_CMALLOC_SHIM_H
// glibc's allocator statistics and trimming: mallinfo2() and malloc_trim().
#include <malloc.h>
#endif
