namespace Datapath.Tests.Engine.Net;

/// <summary>
/// The Internet checksum written the plain way, byte pair by byte pair (RFC 1071 §1): the
/// independent reference the engine's 64-bit version is checked against.
/// </summary>
static class Rfc1071
{
    public static ushort Checksum(ReadOnlySpan<byte> data) => (ushort)~Fold(Sum(0, data));

    public static uint Sum(uint sum, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2) sum = Fold(sum + (uint)(data[i] << 8 | data[i + 1]));
        if (i < data.Length) sum = Fold(sum + (uint)(data[i] << 8)); // odd byte: the high half of a zero-padded word
        return sum;
    }

    public static ushort Fold(uint sum)
    {
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>UDP/TCP checksum over IPv4: pseudo-header (addresses, zero, protocol, length) then the segment.</summary>
    public static ushort L4(ReadOnlySpan<byte> ipHeader, ReadOnlySpan<byte> segment, byte protocol)
    {
        uint sum = Sum(0, ipHeader.Slice(12, 8));
        sum = Sum(sum, [0, protocol, (byte)(segment.Length >> 8), (byte)segment.Length]);
        return (ushort)~Fold(Sum(sum, segment));
    }

    public static ushort ReadBE(ReadOnlySpan<byte> b, int offset) => (ushort)(b[offset] << 8 | b[offset + 1]);
}
