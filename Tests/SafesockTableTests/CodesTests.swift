// The codes the table holds, written once in Swift (TableLayout.swift) for
// the compiler and once in C (safesock_match.h) for the decision core:
// held equal here, so neither side can drift from the format.

import SafesockABI
import SafesockMatch
import Testing

@Suite struct CodesTests {
    @Test func optionCodesAreTheHeaders() {
        #expect(OptionCode.deny == UInt8(SAFESOCK_OPTION_DENY) && OptionCode.allow == UInt8(SAFESOCK_OPTION_ALLOW))
        #expect(OptionCode.peernameDeny == UInt8(SAFESOCK_PEERNAME_DENY))
        #expect(OptionCode.peernameMask == UInt8(SAFESOCK_PEERNAME_MASK))
        #expect(OptionCode.peernameAllow == UInt8(SAFESOCK_PEERNAME_ALLOW))
        #expect(OptionCode.resolveStrict == UInt8(SAFESOCK_RESOLVE_STRICT))
        #expect(OptionCode.resolveOpen == UInt8(SAFESOCK_RESOLVE_OPEN))
    }

    @Test func hostKindsAreTheHeaders() {
        let c: [HostKindCode: safesock_host_kind] = [
            .nothing: SAFESOCK_HOST_NOTHING, .origin: SAFESOCK_HOST_ORIGIN, .name: SAFESOCK_HOST_NAME,
            .glob: SAFESOCK_HOST_GLOB, .address: SAFESOCK_HOST_ADDRESS, .block: SAFESOCK_HOST_BLOCK,
        ]
        #expect(c.count == HostKindCode.allCases.count)
        for (swift, header) in c { #expect(UInt32(swift.rawValue) == header.rawValue, "\(swift)") }
    }
}
