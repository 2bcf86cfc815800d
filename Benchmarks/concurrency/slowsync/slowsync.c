/* A slow disk for benchmarks, by LD_PRELOAD: fsync and fdatasync sleep SLOWSYNC_MS milliseconds
 * (default 10, a spinning disk's or a network volume's flush) before doing the real call. LMDB's
 * durable commit flushes its data pages with fdatasync, so with this preloaded every `.durable`
 * commit holds its thread as long as it would on such a disk. Used by
 * `PeerComparison async-responsiveness` (docs/benchmarks.md, "Concurrency").
 *
 *   cc -O2 -shared -fPIC -o slowsync.so slowsync.c -ldl
 *   SLOWSYNC_MS=10 LD_PRELOAD=$PWD/slowsync.so PeerComparison async-responsiveness DIR
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void pause_for_sync(void) {
    const char *text = getenv("SLOWSYNC_MS");
    long ms = text ? atol(text) : 10;
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0) {}
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    pause_for_sync();
    return real(fd);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    pause_for_sync();
    return real(fd);
}
