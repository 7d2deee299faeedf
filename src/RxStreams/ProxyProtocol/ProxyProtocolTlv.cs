namespace RxStreams;

/// <summary>
/// One type-length-value record of a PROXY protocol v2 header (for example <c>0x01</c> ALPN, <c>0x02</c> authority, i.e.
/// the TLS SNI, <c>0x05</c> unique ID, <c>0xEA</c> an AWS VPC endpoint ID). RxStreams checks that the records fit the
/// header and hands them over uninterpreted, except a <c>0x03</c> CRC32C record, which it verifies (as the spec requires
/// of a receiver that supports it): a mismatch refuses the connection.
/// </summary>
/// <param name="Type">The record's type byte.</param>
/// <param name="Value">The record's value (owned by the receiver, never reused).</param>
public readonly record struct ProxyProtocolTlv(byte Type, ReadOnlyMemory<byte> Value);
