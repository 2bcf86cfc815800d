#if canImport(Glibc)
import Glibc
#endif

/// Fixed-size storage for the cache's large tables, outside the allocator.
///
/// Tables of 256 KiB or more are mapped anonymously (`mmap`, the length rounded up to whole 4 KiB
/// pages) and ask the kernel for transparent huge pages (`madvise(MADV_HUGEPAGE)`): a lookup in a
/// table of a gigabyte touches a random slot, and with 4 KiB pages nearly every probe also misses the
/// TLB, a page walk that costs as much as the memory miss itself. When the table is freed its pages go
/// straight back to the system (`munmap`), whatever the allocator does (glibc's own mmap threshold
/// rises after frees, after which it would keep such blocks in its heap). Small tables use the
/// allocator.
///
/// A class so that a table is freed exactly once. Its owners (the read cache's noncopyable table, the
/// write buffer, itself a class) replace it on resize and never share it.
final class TableStorage<Element> {
    let base: UnsafeMutablePointer<Element>
    let count: Int
    private let mappedBytes: Int

    /// The smallest table that is mapped rather than allocated.
    static var mappingThreshold: Int { 256 << 10 }

    /// `count` elements, each initialised to `initial`.
    init(count: Int, initial: Element) {
        self.count = count
        let bytes = max(1, count) * MemoryLayout<Element>.stride
        var mapped: UnsafeMutableRawPointer?
        if bytes >= Self.mappingThreshold {
            let length = (bytes + 4095) & ~4095
            if let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
                _ = madvise(p, length, MADV_HUGEPAGE)  // advice only: without THP the pages are 4 KiB
                mapped = p
                mappedBytes = length
            } else {
                mappedBytes = 0
            }
        } else {
            mappedBytes = 0
        }
        if let mapped {
            base = mapped.bindMemory(to: Element.self, capacity: count)
        } else {
            base = .allocate(capacity: max(1, count))
        }
        base.initialize(repeating: initial, count: count)
    }

    /// Bytes of memory the table holds.
    var bytes: Int { mappedBytes > 0 ? mappedBytes : count * MemoryLayout<Element>.stride }

    deinit {
        base.deinitialize(count: count)
        if mappedBytes > 0 {
            munmap(UnsafeMutableRawPointer(base), mappedBytes)
        } else {
            base.deallocate()
        }
    }
}
