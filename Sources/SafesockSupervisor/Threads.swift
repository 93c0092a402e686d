// Threads: the supervisor's long-lived threads (the DNS service's workers
// and servers), made with pthread_create; FoundationEssentials has no
// Thread, and a dispatch queue's pool is no place for a loop that blocks.
// Part of `safesock run --kernel` (Supervisor.swift has the supervisor).

import Glibc

/// Runs `body` on a detached thread of its own; false when the system
/// gives no thread (the caller then does without it, failing closed).
@discardableResult
func startThread(_ body: @escaping () -> Void) -> Bool {
    final class Body { let run: () -> Void; init(_ run: @escaping () -> Void) { self.run = run } }
    let context = Unmanaged.passRetained(Body(body)).toOpaque()
    var thread = pthread_t()
    let made = pthread_create(&thread, nil, { context in
        Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
        return nil
    }, context)
    guard made == 0 else {
        Unmanaged<Body>.fromOpaque(context).release()
        return false
    }
    pthread_detach(thread)
    return true
}
