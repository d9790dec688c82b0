using System.Buffers.Binary;

namespace Datapath.Engine.Net;

/// <summary>ICMP for IPv4 (RFC 792): type, code, checksum, then (for echo) identifier and sequence.</summary>
public static unsafe class Icmp
{
    public const int HeaderLength = 8;
    public const byte TypeEchoReply = 0, TypeEchoRequest = 8;
    public const int ChecksumOffset = 2;

    public static byte Type(byte* icmp) => icmp[0];
    public static byte Code(byte* icmp) => icmp[1];
    public static ushort StoredChecksum(byte* icmp) => BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(icmp + ChecksumOffset, 2));

    /// <summary>
    /// Turns an echo request into an echo reply in place (RFC 792, "Echo or Echo Reply Message":
    /// the data is returned unchanged, the type becomes 0). Only the type/code word changes, so the
    /// checksum is updated incrementally (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')) without reading
    /// the payload, which may lie in further segments.
    /// </summary>
    public static void MakeEchoReply(byte* icmp)
    {
        ushort oldWord = (ushort)(icmp[0] << 8 | icmp[1]);
        icmp[0] = TypeEchoReply;
        ushort newWord = (ushort)(icmp[0] << 8 | icmp[1]);
        ushort hc = StoredChecksum(icmp);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(icmp + ChecksumOffset, 2), Checksum.Update(hc, oldWord, newWord));
    }

    /// <summary>The checksum over the ICMP message, header and data (RFC 792), set in place.</summary>
    public static void SetChecksum(byte* icmp, int length)
    {
        *(ushort*)(icmp + ChecksumOffset) = 0;
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(icmp + ChecksumOffset, 2), Checksum.Compute(icmp, length));
    }
}
