import CMalloc
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the process's memory looks like, from the allocator and the kernel. Every field is in bytes and
/// `nil` where this system cannot tell.
///
/// With `WriteBuffer` (for its prefetch hint), the only file in DiskCollections that imports `CMalloc`.
public struct AllocatorStatistics: Sendable, Hashable, Codable {
    /// Heap bytes handed out by malloc and not freed: `mallinfo2().uordblks + hblkhd`.
    public var heapInUse: Int?
    /// Free bytes the allocator holds without returning them to the system: `mallinfo2().fordblks`.
    public var allocatorFree: Int?
    /// Anonymous resident memory (heap, stacks): `RssAnon` in /proc/self/status.
    public var residentAnonymous: Int?
    /// File-backed resident memory (LMDB's mapped pages among it), which the kernel can reclaim: `RssFile`.
    public var residentFile: Int?
    /// The peak resident set size: `VmHWM`.
    public var residentPeak: Int?

    /// Reads everything: `mallinfo2` and /proc/self/status.
    ///
    /// Cost: `mallinfo2` walks the allocator's free lists, which can take tens of milliseconds when
    /// millions of small chunks are free; sample it rarely (the governor does it at most once a tick).
    public static func sample() -> AllocatorStatistics {
        let info = mallinfo2()
        let status = ProcessStatus.read()
        return AllocatorStatistics(heapInUse: Int(info.uordblks + info.hblkhd), allocatorFree: Int(info.fordblks),
                                   residentAnonymous: status.anonymous, residentFile: status.file, residentPeak: status.peak)
    }

    /// Anonymous resident bytes, cheaply: `resident − shared` pages from /proc/self/statm (a couple of
    /// µs: one open, read and close into a stack buffer, no Foundation). `shared` counts file-backed
    /// and shared-memory pages, so the difference is RssAnon.
    public static func residentAnonymousFast() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer -> Int? in
            let n = read(fd, buffer.baseAddress, buffer.count)
            guard n > 0 else { return nil }
            // Fields: size resident shared text lib data dt, in pages.
            var resident = 0, shared = 0
            var field = 0, inNumber = false
            for i in 0..<n {
                let c = buffer[i]
                if c >= 0x30 && c <= 0x39 {
                    inNumber = true
                    if field == 1 { resident = resident &* 10 &+ Int(c - 0x30) }
                    if field == 2 { shared = shared &* 10 &+ Int(c - 0x30) }
                } else if inNumber {
                    field += 1
                    inNumber = false
                    if field == 3 { break }
                }
            }
            guard field == 3 || (field == 2 && inNumber) else { return nil }
            return (resident - shared) * pageSize
        }
    }

    private static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Gives the allocator's free memory back to the system (`malloc_trim(0)`) and returns how many
    /// anonymous resident bytes that released (measured, so 0 when the free memory was fragmented).
    /// Cost: proportional to the heap; never call it on a hot path.
    @discardableResult
    public static func giveFreeMemoryBack() -> Int {
        let before = residentAnonymousFast() ?? 0
        malloc_trim(0)
        let after = residentAnonymousFast() ?? 0
        return max(0, before - after)
    }
}

/// RssAnon, RssFile and VmHWM from /proc/self/status.
enum ProcessStatus {
    static func read() -> (anonymous: Int?, file: Int?, peak: Int?) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (nil, nil, nil) }
        var anonymous: Int?, file: Int?, peak: Int?
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: \.isWhitespace)
            guard parts.count >= 2, let kb = Int(parts[1]) else { continue }
            switch parts[0] {
            case "RssAnon:": anonymous = kb * 1024
            case "RssFile:": file = kb * 1024
            case "VmHWM:": peak = kb * 1024
            default: break
            }
        }
        return (anonymous, file, peak)
    }
}

/// The memory this process may use: the smallest of the cgroup v2 limits (`memory.max`, `memory.high`),
/// the cgroup v1 limit (`memory.limit_in_bytes`), physical memory, and a cap the user gives. Any of them
/// may be missing; "max" and v1's huge sentinel mean no limit.
public struct MemoryLimit: Sendable, Hashable, Codable {
    /// The limit in force, in bytes.
    public var bytes: Int
    /// Where it came from: `cgroup v2 memory.max`, `cgroup v2 memory.high`, `cgroup v1`, `physical memory` or `user cap`.
    public var source: String

    /// Reads the limits from `root` (the cgroup file system, `/sys/fs/cgroup` by default) and `/proc/self/cgroup`.
    public static func current(userCap: Int? = nil, cgroupRoot: String = "/sys/fs/cgroup",
                               selfCgroup: String = "/proc/self/cgroup") -> MemoryLimit {
        var candidates: [MemoryLimit] = []
        let pages = Int(sysconf(Int32(_SC_PHYS_PAGES))), pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        if pages > 0 && pageSize > 0 { candidates.append(MemoryLimit(bytes: pages * pageSize, source: "physical memory")) }
        if let userCap, userCap > 0 { candidates.append(MemoryLimit(bytes: userCap, source: "user cap")) }
        // cgroup v2: "0::/path" in /proc/self/cgroup; the files live under root + path.
        var v2Path = ""
        if let text = try? String(contentsOfFile: selfCgroup, encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) {
            v2Path = String(line.dropFirst(3))
        }
        for file in ["memory.max", "memory.high"] {
            if let v = readLimit("\(cgroupRoot)\(v2Path)/\(file)") ?? readLimit("\(cgroupRoot)/\(file)") {
                candidates.append(MemoryLimit(bytes: v, source: "cgroup v2 \(file)"))
            }
        }
        if let v = readLimit("\(cgroupRoot)/memory/memory.limit_in_bytes") {
            candidates.append(MemoryLimit(bytes: v, source: "cgroup v1"))
        }
        return candidates.min { $0.bytes < $1.bytes } ?? MemoryLimit(bytes: 1 << 40, source: "unknown")
    }

    /// A limit file's value, or `nil` for "max", v1's no-limit sentinel, a missing or unreadable file.
    static func readLimit(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard value != "max", let bytes = Int(value), bytes > 0, bytes < (1 << 60) else { return nil }
        return bytes
    }
}
