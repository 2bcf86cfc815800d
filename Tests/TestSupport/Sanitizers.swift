#if canImport(Glibc)
import Glibc
#endif

/// Whether this test process runs under the address or thread sanitizer (`swift test --sanitize=…`).
/// Those replace glibc's allocator and add shadow memory, so tests that measure RssAnon or what
/// `malloc_trim` gives back measure the sanitizer, not the library: they are disabled there, and run
/// in every normal `swift test`.
public let runsUnderASanitizer: Bool = {
    let handle = dlopen(nil, RTLD_NOW)
    defer { if let handle { dlclose(handle) } }
    return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
}()
