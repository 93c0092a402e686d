// OptionCodes: the model's options as the table's header bytes and back
// (docs/table-format.md, TableLayout.OptionCode). Explicit both ways, so
// the format never depends on the order of a Swift enum's cases.

import SafesockMatch
import SafesockPolicy

extension Options {
    typealias Code = OptionCode

    /// peername, datagrams, servers, resolve and privateNames, as written.
    var codes: (peername: UInt8, datagrams: UInt8, servers: UInt8, resolve: UInt8, privateNames: UInt8) {
        func permission(_ p: Permission) -> UInt8 { p == .allow ? Code.allow : Code.deny }
        let peer: UInt8
        switch peername {
        case .deny: peer = Code.peernameDeny
        case .mask: peer = Code.peernameMask
        case .allow: peer = Code.peernameAllow
        }
        return (peer, permission(datagrams), permission(servers), resolve == .open ? Code.resolveOpen : Code.resolveStrict,
                permission(privateNames))
    }

    /// The options a header holds. A byte that is no known code reads as
    /// the enforcers read it: the most restrictive value.
    init(header h: TableHeader) {
        self.init()
        func permission(_ b: UInt8) -> Permission { b == Code.allow ? .allow : .deny }
        peername = h.peername == Code.peernameAllow ? .allow : h.peername == Code.peernameMask ? .mask : .deny
        datagrams = permission(h.datagrams)
        servers = permission(h.servers)
        resolve = h.resolve == Code.resolveOpen ? .open : .strict
        privateNames = permission(h.privateNames)
        maxSockets = h.maxSockets
    }
}
