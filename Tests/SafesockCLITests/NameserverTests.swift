// The nameservers `run --kernel` lets libc's resolver reach, read from
// resolv.conf text as glibc reads it.

import SafesockCLI
import SafesockPolicy
import SafesockSupervisor
import Testing

@Suite struct NameserverTests {
    @Test func theFirstThreeNameserverLinesCount() {
        let text = "# comment\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nsearch example\nnameserver\tx\n"
            + "nameserver 10.0.0.3\nnameserver 10.0.0.4\n"
        #expect(Nameservers.parse(text).map(\.description).sorted() == ["10.0.0.1", "10.0.0.3", "fe80::1"])
    }

    @Test func noneMeansTheLocalHost() {
        #expect(Nameservers.parse("search example\n").map(\.description) == ["127.0.0.1"])
        #expect(Nameservers.parse("").map(\.description) == ["127.0.0.1"])
    }
}
