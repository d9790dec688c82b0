using System.Buffers.Binary;

namespace Datapath.Engine.Net;

/// <summary>TCP header offsets (RFC 9293 §3.1): what checksum handling needs, nothing more.</summary>
public static unsafe class Tcp
{
    public const int MinHeaderLength = 20;
    public const int ChecksumOffset = 16;

    /// <summary>Data offset field: header length in bytes (RFC 9293 §3.1, 32-bit words).</summary>
    public static int HeaderLength(byte* tcp) => (tcp[12] >> 4) * 4;

    /// <summary>Sets the checksum over the pseudo-header, header and data (RFC 9293 §3.1).</summary>
    public static void SetChecksum(byte* ip, byte* tcp, int length)
    {
        *(ushort*)(tcp + ChecksumOffset) = 0;
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(tcp + ChecksumOffset, 2), Checksum.Ipv4L4(ip, tcp, length, Ipv4.ProtocolTcp));
    }
}
