// DNSService: safesock answers the program's DNS. In the program's namespace
// its sockets sit at every nameserver address of /etc/resolv.conf, port 53,
// UDP and TCP, so every resolver (glibc's, Go's, c-ares, dig, a static
// binary's) asks safesock and nothing else: there is no other way out.
// Under `resolve strict` a name no allow rule could match is refused and no
// query for it leaves; allowed names are looked up by this process, from its
// own namespace, and every answer goes into the run's NameBook, so that a
// connect to the address is judged by the name. PTR questions are answered
// from the book, never asked upstream. Part of `safesock run --kernel`.

import FoundationEssentials
import Glibc
import Dispatch
import Synchronization
import SafesockKernel
import SafesockMatch
import SafesockPolicy

final class DNSService: @unchecked Sendable {
    let supervisor: KernelSupervisor
    /// The questions to answer, for a few threads of their own: a
    /// nameserver that never answers holds one of them 2 s a question,
    /// never the supervisor's answers to calls (the connect path asks no
    /// one). Bounded: a question past the queue's room gets SERVFAIL.
    private let queue = Mutex(())
    private let waiting = DispatchSemaphore(value: 0) // one signal a job queued
    private var jobs: [() -> Void] = []
    static let workers = 8, room = 256
    /// DNS over TCP connections open at once; more are closed at once, so
    /// a program cannot pile up threads in the supervisor.
    static let streams = 32
    private var openStreams = 0
    /// Answers got upstream, by type and name, until their TTL ends (at
    /// most an hour; no such name, or no records of the type, at most a
    /// minute): asked again, safesock answers from here as a caching
    /// resolver does, and no second query leaves. Bounded: when full, the
    /// expired go, and if none had, all of it.
    private var cache: [String: (records: [safesock_dns_record], rcode: Int32, expires: Double)] = [:]
    private let cacheLock = Mutex(())
    static let cacheRoom = 4096

    /// Starts the workers, each reading resolv.conf into its resolver
    /// state now, before the program runs (it may write that file later).
    init(supervisor: KernelSupervisor) {
        self.supervisor = supervisor
        let ready = DispatchSemaphore(value: 0)
        var started = 0
        for _ in 0..<Self.workers {
            let made = startThread { [self] in
                _ = safesock_dns_prepare()
                ready.signal()
                work()
            }
            if made { started += 1 }
        }
        for _ in 0..<started { ready.wait() }
    }

    private func work() {
        while true {
            waiting.wait()
            let job = queue.withLock { _ in jobs.removeFirst() }
            job()
        }
    }

    /// false when the queue is full.
    private func submit(_ job: @escaping () -> Void) -> Bool {
        let queued = queue.withLock { _ -> Bool in
            guard jobs.count < Self.room else { return false }
            jobs.append(job)
            return true
        }
        if queued { waiting.signal() }
        return queued
    }

    func serve(udp: [Int32], tcp: [Int32]) {
        // A server with no thread leaves its address unanswered: the
        // program's queries there fail, nothing is let through.
        for fd in udp { startThread { [self] in serveDatagrams(fd) } }
        for fd in tcp { startThread { [self] in serveStreams(fd) } }
    }

    private func serveDatagrams(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &peer) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
            }
            if n < 0 { if errno == EINTR { continue } else { return } }
            let query = Array(buffer[0..<n])
            let from = peer, fromLength = length
            // UDP answers stay within 512 bytes unless EDNS asked for more.
            // What needs no nameserver (the policy, the hosts file, the
            // cache) is answered here; only a lookup waits for a worker.
            if case .reply(let reply) = answer(query, room: 512, mayAsk: false) {
                if let reply { sendReply(fd, reply, to: from, fromLength) }
                continue
            }
            let queued = submit { [self] in
                if case .reply(let reply?) = answer(query, room: 512, mayAsk: true) { sendReply(fd, reply, to: from, fromLength) }
            }
            if !queued, let reply = Self.reply(query, rcode: 2) { sendReply(fd, reply, to: peer, length) }
        }
    }

    private func sendReply(_ fd: Int32, _ reply: [UInt8], to peer: sockaddr_storage, _ length: socklen_t) {
        var peer = peer
        _ = withUnsafePointer(to: &peer) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, Int32(MSG_NOSIGNAL), $0, length) }
        }
    }

    private func serveStreams(_ fd: Int32) {
        while true {
            let connection = accept(fd, nil, nil)
            if connection < 0 { if errno == EINTR || errno == ECONNABORTED { continue } else { return } }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            let admitted = queue.withLock { _ -> Bool in
                guard openStreams < Self.streams else { return false }
                openStreams += 1
                return true
            }
            guard admitted else { close(connection); continue }
            // Its own thread reads and writes; the answers come from the workers.
            let made = startThread { [self] in
                defer { close(connection); queue.withLock { _ in openStreams -= 1 } }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                // A few questions a connection (Go and glibc ask A and AAAA on one).
                for _ in 0..<16 {
                    guard let size = readExactly(connection, 2) else { return }
                    let length = Int(size[0]) << 8 | Int(size[1])
                    guard length > 0, let query = readExactly(connection, length) else { return }
                    let done = DispatchSemaphore(value: 0)
                    nonisolated(unsafe) var answered: [UInt8]?
                    guard submit({ [self] in
                        if case .reply(let reply) = answer(query, room: 65_535, mayAsk: true) { answered = reply }
                        done.signal()
                    }) else { return }
                    done.wait()
                    guard let reply = answered else { return }
                    let framed = [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply
                    guard write(connection, framed, framed.count) == framed.count else { return }
                }
            }
            if !made { close(connection); queue.withLock { _ in openStreams -= 1 } }
        }
    }

    private func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
            if n <= 0 { return nil }
            got += n
        }
        return bytes
    }

    /// A reply with no records (an error, or none to give).
    static func reply(_ query: [UInt8], rcode: Int32) -> [UInt8]? {
        var question = safesock_dns_question()
        guard safesock_dns_parse_query(query, query.count, &question) >= 0 else { return nil }
        return build { safesock_dns_answer(&question, rcode, nil, 0, $0, $1) }
    }

    private static func build(_ make: (UnsafeMutablePointer<UInt8>, Int) -> Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 4096)
        let n = out.withUnsafeMutableBufferPointer { make($0.baseAddress!, $0.count) }
        return n > 0 ? Array(out[0..<n]) : nil
    }

    enum Answer {
        /// The reply to send, or nil: nothing to answer.
        case reply([UInt8]?)
        /// Only a lookup upstream can answer (asked with mayAsk false).
        case mustAsk
    }

    /// The answer to one query: from the policy, the book, the cache and
    /// this process's own lookups; never the program's bytes sent on.
    func answer(_ query: [UInt8], room: Int, mayAsk: Bool) -> Answer {
        var question = safesock_dns_question()
        let parsed = safesock_dns_parse_query(query, query.count, &question)
        guard parsed >= 0 else { return .reply(nil) } // not even a header: nothing to answer
        let size = min(room, max(512, Int(question.edns_size)), 4096)
        func reply(_ rcode: Int32, _ records: [safesock_dns_record] = []) -> Answer {
            .reply(Self.build { out, _ in records.withUnsafeBufferPointer { safesock_dns_answer(&question, rcode, $0.baseAddress, UInt32($0.count), out, size) } })
        }
        guard parsed == 0 else { return reply(parsed) }
        guard question.qclass == 1 else { return reply(5) } // REFUSED: only the Internet class
        let name = withUnsafeBytes(of: question.name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if question.qtype == 12 { return .reply(reversed(&question, name, size)) }
        guard !name.isEmpty, NameBook.plausible(name) else { return reply(5) }
        let pid = Int32(0)
        if supervisor.optionValue(\.resolve) != OptionCode.resolveOpen && !supervisor.namePossible(name) { // resolve strict, or no usable table
            supervisor.report(pid: pid, op: "resolve", host: name, destination: nil, rules: [],
                              reason: "resolve strict: no allow rule could match this name")
            return reply(5)
        }
        guard question.qtype == 1 || question.qtype == 28 else { return reply(0) } // no records of other types
        let family: UInt8 = question.qtype == 1 ? 4 : 6
        if let known = supervisor.names.hostsAddresses[name] {
            // /etc/hosts as read at start, as glibc's `files` would answer.
            return reply(0, known.filter { $0.isIPv4 == (family == 4) }.map { Self.record($0, ttl: 60) })
        }
        let key = "\(question.qtype) \(name)"
        let now = Date().timeIntervalSince1970
        let cached = cacheLock.withLock { _ in cache[key] }.flatMap { $0.expires > now ? $0 : nil }
        var found: [safesock_dns_record]
        if let cached {
            let left = UInt32(max(1, cached.expires - now))
            found = cached.records.map { var r = $0; r.ttl = min(r.ttl, left); return r }
            if cached.rcode != 0 { return reply(cached.rcode) }
        } else {
            guard mayAsk else { return .mustAsk }
            var records = [safesock_dns_record](repeating: safesock_dns_record(), count: 32)
            var negative: UInt32 = 0
            let count = records.withUnsafeMutableBufferPointer { safesock_dns_resolve(name, question.qtype, $0.baseAddress, UInt32($0.count), &negative) }
            guard count >= 0 || count == -3 else { return reply(2) } // SERVFAIL, not kept
            found = Array(records.prefix(Int(max(0, count))))
            let ttl = found.isEmpty ? min(negative == 0 ? 30 : negative, 60) : min(found.map(\.ttl).min() ?? 0, 3600)
            cacheLock.withLock { _ in
                if cache.count >= Self.cacheRoom { cache = cache.filter { $0.value.expires > now } }
                if cache.count >= Self.cacheRoom { cache.removeAll() }
                cache[key] = (found, count == -3 ? 3 : 0, now + Double(ttl))
            }
            if count == -3 { return reply(3) }
        }
        let remembered = found.compactMap { r -> (IPAddress, UInt32)? in
            let bytes = withUnsafeBytes(of: r.address) { Array($0.prefix(r.family == 4 ? 4 : 16)) }
            return IPAddress(bytes: bytes).map { ($0, r.ttl) }
        }
        // Remembered again from the cache too: the book may have let the
        // name go (its own room), and a connect is judged by the book.
        guard supervisor.names.remember(name, remembered, kept: supervisor.disallowPossible(name)) else {
            supervisor.report(pid: pid, op: "resolve", host: name, destination: nil, rules: [],
                              reason: "the run's name memory is full of names a disallow rule needs")
            return reply(5)
        }
        return reply(0, found)
    }

    /// PTR: the names the book holds for the address, or no such name;
    /// nothing is asked upstream (the question's bits are the program's).
    private func reversed(_ question: inout safesock_dns_question, _ name: String, _ size: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let family = safesock_dns_reverse(name, &bytes)
        let address = family == 4 ? IPAddress(bytes: Array(bytes.prefix(4))) : family == 6 ? IPAddress(bytes: bytes) : nil
        let known = address.map { supervisor.names.anyNames(for: $0) } ?? []
        let cNames = known.map { strdup($0) }
        defer { cNames.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = cNames.map { UnsafePointer($0) }
        return Self.build { out, _ in
            pointers.withUnsafeBufferPointer { p in
                known.isEmpty ? safesock_dns_answer(&question, 3, nil, 0, out, size)
                    : safesock_dns_answer_ptr(&question, p.baseAddress, UInt32(p.count), 60, out, size)
            }
        }
    }

    static func record(_ address: IPAddress, ttl: UInt32) -> safesock_dns_record {
        var r = safesock_dns_record()
        r.family = address.isIPv4 ? 4 : 6
        r.ttl = ttl
        withUnsafeMutableBytes(of: &r.address) { $0.copyBytes(from: address.bytes) }
        return r
    }
}
