#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open files. An edge holds a socket per connector connection and per
/// visitor, so it raises its soft limit to the hard one at start, as Go programs (cloudflared)
/// do by default.
public enum FileDescriptorLimit {
    /// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the limit now in force, or
    /// `nil` when it cannot be read.
    @discardableResult
    public static func raiseToHardLimit() -> UInt64? {
        var limits = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limits) == 0 else { return nil }
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if setrlimit(resource, &raised) == 0 { return UInt64(raised.rlim_cur) }
        }
        return UInt64(limits.rlim_cur)
    }
}
