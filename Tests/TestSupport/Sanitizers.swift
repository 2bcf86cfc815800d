#if canImport(Glibc)
import Glibc
#endif

/// How many times slower a child process of the tests runs under this process's sanitizer (they are
/// built alike): tests that kill a child after a random delay stretch their delays by it, so that the
/// child still gets as far as it would in a normal build (the thread sanitizer slows a loader about
/// tenfold). 1 without a sanitizer.
public let sanitizerTimeScale: Double = {
    let handle = dlopen(nil, RTLD_NOW)
    defer { if let handle { dlclose(handle) } }
    if dlsym(handle, "__tsan_init") != nil { return 10 }
    if dlsym(handle, "__asan_init") != nil { return 2 }
    return 1
}()

/// Whether this test process runs under the address or thread sanitizer (`swift test --sanitize=…`).
/// Those replace glibc's allocator and add shadow memory, so tests that measure RssAnon or what
/// `malloc_trim` gives back measure the sanitizer, not the library: they are disabled there, and run
/// in every normal `swift test`.
public let runsUnderASanitizer: Bool = sanitizerTimeScale > 1
