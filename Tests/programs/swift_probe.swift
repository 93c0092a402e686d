// swift_probe: a Swift host program for the library to live in, using
// Foundation and Swift concurrency (a task group connects in parallel).
//   swift_probe HOST PORT [HOST PORT ...]
// Prints a JSON array, one result per destination: "ok", "errno N", "gai N".

import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
struct SwiftProbe {
    static func connect(to host: String, _ port: String) -> String {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, port, &hints, &list)
        guard rc == 0 else { return "gai \(rc)" }
        defer { freeaddrinfo(list) }
        var result = "errno \(ECONNREFUSED)"
        var next = list
        while let ai = next {
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, 0)
            if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
                close(fd)
                return "ok"
            }
            result = "errno \(errno)"
            close(fd)
            next = ai.pointee.ai_next
        }
        return result
    }

    static func main() async {
        let words = Array(CommandLine.arguments.dropFirst())
        let destinations = stride(from: 0, to: words.count - 1, by: 2).map { (words[$0], words[$0 + 1]) }
        let results = await withTaskGroup(of: (Int, String).self) { group in
            for (i, (host, port)) in destinations.enumerated() {
                group.addTask { (i, connect(to: host, port)) }
            }
            var collected: [(Int, String)] = []
            for await r in group { collected.append(r) }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let json = try! JSONEncoder().encode(results)
        print(String(decoding: json, as: UTF8.self))
    }
}
