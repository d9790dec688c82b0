using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// `txonly`: generate Ethernet/IPv4/UDP frames of --txpkts bytes and send them (testpmd txonly.c).
/// The 42 header bytes are built once per stream with a correct IPv4 checksum and copied into each
/// packet; the UDP checksum is 0 ("not computed", RFC 768), as testpmd sends it. Multi-segment
/// frames chain one segment per --txpkts length.
/// </summary>
public sealed unsafe class TxOnlyMode : ForwardMode
{
    public const int HeaderBytes = Ethernet.HeaderLength + Ipv4.MinHeaderLength + Udp.HeaderLength;

    byte[][] _templates = [];
    int[] _segments = [64];
    int _frameLength;

    public override string Name => "txonly";

    public override void Prepare(ForwardingContext context)
    {
        _segments = context.TxPacketSegments;
        _frameLength = _segments.Sum();
        if (_segments[0] < HeaderBytes)
            throw new ArgumentException($"txpkts: the first segment ({_segments[0]} B) must hold the {HeaderBytes} header bytes");
        _templates = new byte[context.Streams.Count][];
        foreach (var s in context.Streams)
        {
            int dataRoom = s.TxPort.Config!.Pool.DataRoom;
            foreach (int seg in _segments)
                if (seg > dataRoom) throw new ArgumentException($"txpkts: segment of {seg} B exceeds the pool's {dataRoom} B data room");
            _templates[s.Index] = BuildHeaders(s.TxPort.Info.Mac, context.PeerMacs[s.TxPort.Id], context, _frameLength);
        }
    }

    internal static byte[] BuildHeaders(MacAddress src, MacAddress dst, ForwardingContext c, int frameLength)
    {
        var t = new byte[HeaderBytes];
        fixed (byte* p = t)
        {
            Ethernet.Write(p, dst, src, Ethernet.TypeIpv4);
            Ipv4.Write(p + Ethernet.HeaderLength, frameLength - Ethernet.HeaderLength, Ipv4.ProtocolUdp,
                Ipv4.ToNet(c.TxSourceIp), Ipv4.ToNet(c.TxDestinationIp));
            Udp.Write(p + Ethernet.HeaderLength + Ipv4.MinHeaderLength, c.TxSourcePort, c.TxDestinationPort,
                frameLength - Ethernet.HeaderLength - Ipv4.MinHeaderLength);
        }
        return t;
    }

    public override void Run(ForwardStream stream, Span<Packet> burst)
    {
        var pool = stream.TxPort.Config!.Pool;
        if (!pool.Alloc(burst)) return;
        byte[] template = _templates[stream.Index];
        ushort port = stream.TxPort.Id;
        fixed (byte* t = template)
        {
            for (int i = 0; i < burst.Length; i++)
            {
                var p = burst[i];
                CopyUnlessEqual(p.Data, t);
                p.Port = port;
                if (_segments.Length == 1) p.SetLength(_frameLength);
                else if (!ChainSegments(p, pool))
                {
                    // Out of buffers for the tail segments: give back this packet and the rest.
                    PacketPool.FreeBulk(burst[i..]);
                    SendOrDrop(stream, burst[..i]);
                    return;
                }
            }
        }
        SendOrDrop(stream, burst);
    }

    /// <summary>
    /// The headers into a packet, unless the packet already holds them — a buffer back from the pool
    /// usually does, from its last trip. A line written is a line the peer that read the frame (a
    /// vhost back-end on another core) loses, and must fetch again from us; one compared and left
    /// alone stays in both caches.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void CopyUnlessEqual(byte* dst, byte* src)
    {
        // Bytes 0-31 and 26-41: two loads cover the 42 header bytes.
        const int Tail = HeaderBytes - 16;
        if (Vector256.Load(dst) == Vector256.Load(src) && Vector128.Load(dst + Tail) == Vector128.Load(src + Tail)) return;
        Unsafe.CopyBlockUnaligned(dst, src, HeaderBytes);
    }

    [SkipLocalsInit]
    bool ChainSegments(Packet first, PacketPool pool)
    {
        int extra = _segments.Length - 1;
        Span<Packet> tail = stackalloc Packet[extra];
        if (!pool.Alloc(tail)) return false;
        first.Header->DataLen = (ushort)_segments[0];
        PacketHeader* prev = first.Header;
        for (int s = 0; s < extra; s++)
        {
            PacketHeader* h = tail[s].Header;
            h->DataLen = (ushort)_segments[s + 1];
            prev->Next = h;
            prev = h;
        }
        first.Header->NbSegs = (ushort)_segments.Length;
        first.Header->PktLen = (uint)_frameLength;
        return true;
    }
}
