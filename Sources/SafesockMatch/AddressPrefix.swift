// AddressPrefix: CIDR containment over raw network-order address bytes,
// shared by the decision model and (Embedded) the table matcher.

public enum AddressPrefix {
    /// True when the first `bits` bits of `address` equal those of `block`.
    /// Both buffers hold the same family's bytes (4 or 16, network order);
    /// a length mismatch or `bits` beyond the length never matches.
    public static func contains(
        block: UnsafeRawBufferPointer, bits: Int, address: UnsafeRawBufferPointer
    ) -> Bool {
        guard block.count == address.count, bits >= 0, bits <= block.count * 8 else { return false }
        let whole = bits / 8
        for i in 0..<whole where block[i] != address[i] { return false }
        let rest = bits % 8
        if rest == 0 { return true }
        let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - rest))
        return block[whole] & mask == address[whole] & mask
    }
}

public enum DecimalText {
    /// Writes the decimal digits of `value` (no leading zeros) into `out`,
    /// which must hold 5 bytes, and returns how many were written.
    public static func write(_ value: UInt16, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            for i in 0..<n { out[i] = d[n - 1 - i] }
        }
        return n
    }
}
