using System.Buffers.Binary;
using Datapath.Engine.Packets;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>Test frames: two MACs, a local ethertype, a sequence number, then a pattern derived from it.</summary>
public static unsafe class Frames
{
    public static readonly byte[] Dst = [0x02, 0, 0, 0, 0, 0xdd];
    public static readonly byte[] Src = [0x02, 0, 0, 0, 0, 0x55];
    const ushort EtherType = 0x88b5; // IEEE 802 local experimental

    public static byte Pattern(uint seq, int i) => (byte)(seq * 31 + i);

    /// <summary>Writes frame <paramref name="seq"/> of <paramref name="length"/> bytes into <paramref name="p"/>, in segments of at most <paramref name="segment"/> bytes.</summary>
    public static bool Build(PacketPool pool, uint seq, int length, int segment, out Packet head)
    {
        var bytes = new byte[length];
        Dst.CopyTo(bytes, 0);
        Src.CopyTo(bytes, 6);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(12), EtherType);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(14), seq);
        for (int i = 18; i < length; i++) bytes[i] = Pattern(seq, i);
        head = default;
        Packet tail = default;
        for (int off = 0; off < length; off += segment)
        {
            var p = pool.Alloc();
            if (p.IsNull) { if (!head.IsNull) head.Free(); return false; }
            int n = Math.Min(segment, length - off);
            bytes.AsSpan(off, n).CopyTo(new Span<byte>(p.Data, n));
            p.SetLength(n);
            if (head.IsNull) head = p;
            else
            {
                tail.Header->Next = p.Header;
                head.Header->NbSegs++;
                head.Header->PktLen += (uint)n;
            }
            tail = p;
        }
        return true;
    }

    /// <summary>The frame's bytes, all segments.</summary>
    public static byte[] Read(Packet p)
    {
        var bytes = new byte[p.PacketLength];
        int off = 0;
        for (var s = p; !s.IsNull; s = s.Next)
        {
            s.Span.CopyTo(bytes.AsSpan(off));
            off += s.DataLength;
        }
        return bytes;
    }

    /// <summary>The frame as testpmd's macswap returns it: addresses swapped, sequence and pattern intact.</summary>
    public static uint CheckEchoed(byte[] f, int length)
    {
        Assert.Equal(length, f.Length);
        Assert.Equal(Src, f[..6]);
        Assert.Equal(Dst, f[6..12]);
        Assert.Equal(EtherType, BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(12)));
        uint seq = BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(14));
        for (int i = 18; i < length; i++)
            if (f[i] != Pattern(seq, i)) Assert.Fail($"frame {seq}: byte {i} is {f[i]}, expected {Pattern(seq, i)}");
        return seq;
    }
}
