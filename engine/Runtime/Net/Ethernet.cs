using System.Buffers.Binary;

namespace Datapath.Engine.Net;

/// <summary>Ethernet II framing (IEEE 802.3): destination, source, EtherType.</summary>
public static unsafe class Ethernet
{
    public const int HeaderLength = 14;
    public const int MinFrame = 60;   // without FCS
    public const int FcsLength = 4;
    public const ushort TypeIpv4 = 0x0800, TypeArp = 0x0806, TypeVlan = 0x8100, TypeIpv6 = 0x86DD;

    public static ushort EtherType(byte* frame) => BinaryPrimitives.ReadUInt16BigEndian(new ReadOnlySpan<byte>(frame + 12, 2));

    public static void Write(byte* frame, MacAddress dst, MacAddress src, ushort etherType)
    {
        dst.CopyTo(frame);
        src.CopyTo(frame + 6);
        BinaryPrimitives.WriteUInt16BigEndian(new Span<byte>(frame + 12, 2), etherType);
    }

    /// <summary>Exchanges destination and source addresses in place (macswap, echo replies).</summary>
    public static void SwapAddresses(byte* frame)
    {
        // 12 bytes: swap the two 6-byte halves through registers.
        ulong a = *(ulong*)frame;          // dst[0..6] src[0..2]
        uint b = *(uint*)(frame + 8);      // src[2..6]
        ushort srcLo = (ushort)(a >> 48);
        ulong dst = a & 0xFFFF_FFFF_FFFF;
        ulong src = srcLo | (ulong)b << 16;
        *(ulong*)frame = src | dst << 48;
        *(uint*)(frame + 8) = (uint)(dst >> 16);
    }

    public static MacAddress Destination(byte* frame) => new(new ReadOnlySpan<byte>(frame, 6));
    public static MacAddress Source(byte* frame) => new(new ReadOnlySpan<byte>(frame + 6, 6));
}
