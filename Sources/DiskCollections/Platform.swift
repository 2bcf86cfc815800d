// DiskCollections runs on Linux: its memory governor reads glibc's allocator (`mallinfo2`,
// `malloc_trim`) and the kernel's accounting (`/proc/self/status`, cgroups). Elsewhere it says so
// at build time instead of failing at run time.
#if !os(Linux)
#error("DiskCollections supports Linux (glibc) only: it needs mallinfo2, malloc_trim and /proc. See the README's Requirements.")
#endif
