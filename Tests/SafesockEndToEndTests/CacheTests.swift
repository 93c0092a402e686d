// The library's per-thread memory of allowed destinations (CShim/cache.c):
// a remembered allow must never outlive what it was decided on. (Its
// address formatter is held to inet_ntop in SafesockCanonicalTests.)

import Foundation
import Testing

@Suite(.endToEnd) struct CacheTests {
    /// An address allowed (and remembered) is denied once the program
    /// resolves a name for it that the policy disallows.
    @Test func aNewNameForgetsARememberedAllow() throws {
        let listener = try Listener("127.0.0.5")
        let policy = """
            section hosts ports
                allow 127.0.0.5 \(listener.port)
                allow evil.example 80
                disallow evil.example \(listener.port)

            """
        let script = """
            import socket
            def connect():
                s = socket.socket()
                try:
                    s.connect(("127.0.0.5", \(listener.port)))
                    return "ok"
                except OSError as e:
                    return "errno %d" % e.errno
                finally:
                    s.close()
            print(connect(), connect())
            socket.getaddrinfo("evil.example", None)
            print(connect())
            """
        let r = try underSafesock(policy, origin: nil, ["/usr/bin/python3.11", "-c", script])
        #expect(r.stdout == "ok ok\nerrno \(EACCES)\n", "\(r)")
        #expect(listener.arrivals() == 2)
    }

    /// A stream connection allowed is not a datagram allowed (`datagrams deny`).
    @Test func aRememberedAllowIsForOneKindOfSocket() throws {
        let listener = try Listener("127.0.0.5")
        let policy = "section hosts ports\n    allow 127.0.0.5 \(listener.port)\n"
        let script = """
            import socket
            t = socket.socket()
            t.connect(("127.0.0.5", \(listener.port)))
            t.close()
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.sendto(b"x", ("127.0.0.5", \(listener.port)))
                print("sent")
            except OSError as e:
                print("errno %d" % e.errno)
            """
        let r = try underSafesock(policy, origin: nil, ["/usr/bin/python3.11", "-c", script])
        #expect(r.stdout == "errno \(EACCES)\n", "\(r)")
    }
}
