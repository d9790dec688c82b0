using System.Buffers.Binary;

namespace Datapath.Engine.Net;

/// <summary>UDP header (RFC 768): ports, length, checksum.</summary>
public static unsafe class Udp
{
    public const int HeaderLength = 8;
    public const int ChecksumOffset = 6;

    /// <summary>Writes the header; the checksum is left 0 ("none", legal over IPv4) for the caller to fill.</summary>
    public static void Write(byte* udp, ushort srcPort, ushort dstPort, int length)
    {
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp, 2), srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp + 2, 2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp + 4, 2), (ushort)length);
        *(ushort*)(udp + 6) = 0;
    }

    public static void SetChecksum(byte* ip, byte* udp, int length)
    {
        *(ushort*)(udp + 6) = 0;
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(udp + 6, 2), Checksum.Ipv4L4(ip, udp, length, Ipv4.ProtocolUdp));
    }
}
