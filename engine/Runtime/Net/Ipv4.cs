using System.Buffers.Binary;
using System.Net;

namespace Datapath.Engine.Net;

/// <summary>IPv4 header fields (RFC 791) read and written in network order.</summary>
public static unsafe class Ipv4
{
    public const int MinHeaderLength = 20;
    public const byte ProtocolIcmp = 1, ProtocolTcp = 6, ProtocolUdp = 17;
    public const byte DefaultTtl = 64;

    public static int HeaderLength(byte* ip) => (ip[0] & 0xF) * 4;
    public static int TotalLength(byte* ip) => BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(ip + 2, 2));
    public static byte Protocol(byte* ip) => ip[9];
    public static uint Source(byte* ip) => *(uint*)(ip + 12);
    public static uint Destination(byte* ip) => *(uint*)(ip + 16);

    public const int ChecksumOffset = 10;

    /// <summary>
    /// True for any fragment (More Fragments set or a non-zero offset, RFC 791 §3.1): its L4
    /// checksum covers the reassembled datagram and cannot be checked on this piece alone.
    /// </summary>
    public static bool IsFragment(byte* ip) => (BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(ip + 6, 2)) & 0x3FFF) != 0;

    /// <summary>Exchanges source and destination addresses; the header checksum is unchanged (a sum commutes).</summary>
    public static void SwapAddresses(byte* ip)
    {
        uint src = *(uint*)(ip + 12);
        *(uint*)(ip + 12) = *(uint*)(ip + 16);
        *(uint*)(ip + 16) = src;
    }

    /// <summary>Writes a 20-byte header with its checksum. Addresses are in network order as stored.</summary>
    public static void Write(byte* ip, int totalLength, byte protocol, uint srcNet, uint dstNet, ushort id = 0, byte ttl = DefaultTtl)
    {
        ip[0] = 0x45;
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(ip + 2, 2), (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(ip + 4, 2), id);
        ip[6] = 0; ip[7] = 0;
        ip[8] = ttl;
        ip[9] = protocol;
        ip[10] = 0; ip[11] = 0;
        *(uint*)(ip + 12) = srcNet;
        *(uint*)(ip + 16) = dstNet;
        SetChecksum(ip);
    }

    public static void SetChecksum(byte* ip)
    {
        *(ushort*)(ip + 10) = 0;
        ushort c = Checksum.Ipv4Header(ip);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(ip + 10, 2), c);
    }

    /// <summary>An address as the 4 bytes stored in a header, read as a host uint.</summary>
    public static uint ToNet(IPAddress address)
    {
        Span<byte> b = stackalloc byte[4];
        if (!address.TryWriteBytes(b, out int n) || n != 4) throw new ArgumentException($"{address} is not an IPv4 address");
        return BitConverter.ToUInt32(b);
    }
}
