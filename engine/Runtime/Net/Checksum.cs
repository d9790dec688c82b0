using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Datapath.Engine.Net;

/// <summary>The Internet checksum (RFC 1071): 16-bit ones' complement sum, folded.</summary>
public static unsafe class Checksum
{
    /// <summary>Adds bytes to a running 32-bit-folded sum (network order words, big-endian).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Add(ulong sum, byte* data, int length)
    {
        // Eight bytes at a time into a 64-bit accumulator; carries are folded at the end (RFC 1071 §2(B)).
        // Words are summed in host (little-endian) order and swapped once at the end (RFC 1071 §2(B) byte order independence).
        while (length >= 8)
        {
            ulong v = Unsafe.ReadUnaligned<ulong>(data);
            sum += v;
            if (sum < v) sum++;
            data += 8;
            length -= 8;
        }
        // The tail goes into one 64-bit word (zero padded, RFC 1071 §4.1: a trailing odd byte is the
        // high byte of a word in network order, the low byte when read little-endian) and is added
        // with the same end-around carry: sum may already be near 2^64 here.
        ulong tail = 0;
        if (length >= 4) { tail = Unsafe.ReadUnaligned<uint>(data); data += 4; length -= 4; }
        if (length >= 2) { tail += (ulong)Unsafe.ReadUnaligned<ushort>(data) << 32; data += 2; length -= 2; }
        if (length == 1) tail += (ulong)*data << 48;
        sum += tail;
        if (sum < tail) sum++;
        return sum;
    }

    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data) return Add(sum, p, data.Length);
    }

    /// <summary>Folds a running sum to 16 bits, in network byte order, not yet complemented.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return BinaryPrimitives.ReverseEndianness((ushort)sum);
    }

    /// <summary>The checksum field value for these bytes (complemented, network order as a number).</summary>
    public static ushort Compute(byte* data, int length) => (ushort)~Fold(Add(0, data, length));

    public static ushort Compute(ReadOnlySpan<byte> data) => (ushort)~Fold(Add(0, data));

    /// <summary>IPv4 header checksum: over the header with the checksum field as stored (0 when computing).</summary>
    public static ushort Ipv4Header(byte* ipHeader) => Compute(ipHeader, (ipHeader[0] & 0xF) * 4);

    /// <summary>The IPv4 pseudo-header sum for a UDP/TCP checksum (RFC 768, RFC 793).</summary>
    public static ulong Ipv4PseudoHeader(byte* ipHeader, byte protocol, int l4Length)
    {
        ulong sum = Add(0, ipHeader + 12, 8); // source and destination addresses
        Span<byte> tail = [0, protocol, (byte)(l4Length >> 8), (byte)l4Length];
        return Add(sum, tail);
    }

    /// <summary>UDP or TCP checksum over IPv4; 0 from UDP is sent as 0xFFFF (RFC 768).</summary>
    public static ushort Ipv4L4(byte* ipHeader, byte* l4, int l4Length, byte protocol)
    {
        ushort c = (ushort)~Fold(Add(Ipv4PseudoHeader(ipHeader, protocol, l4Length), l4, l4Length));
        return protocol == Ipv4.ProtocolUdp && c == 0 ? (ushort)0xFFFF : c;
    }

    /// <summary>
    /// A checksum field after one 16-bit word of the covered data changed from
    /// <paramref name="oldWord"/> to <paramref name="newWord"/> (RFC 1624 eqn. 3:
    /// HC' = ~(~HC + ~m + m'), which unlike eqn. 2 never yields the -0 that RFC 1624 §3 warns of).
    /// All values are numbers in network order, as <see cref="Compute(byte*, int)"/> returns.
    /// </summary>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
    {
        uint sum = (uint)(ushort)~checksum + (ushort)~oldWord + newWord;
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>
    /// True when a UDP/TCP segment over IPv4 checks: pseudo-header plus segment, checksum field
    /// included, sums to all ones (RFC 768, RFC 9293 §3.1). A UDP checksum of 0 ("none") is the
    /// caller's to accept before asking.
    /// </summary>
    public static bool VerifyIpv4L4(byte* ipHeader, byte* l4, int l4Length, byte protocol) =>
        Fold(Add(Ipv4PseudoHeader(ipHeader, protocol, l4Length), l4, l4Length)) == 0xFFFF;

    /// <summary>True when the bytes, checksum field included, sum to all ones (the check in RFC 1071 §1).</summary>
    public static bool Verify(byte* data, int length) => Fold(Add(0, data, length)) == 0xFFFF;
}
