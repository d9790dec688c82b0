using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// Guest → engine: takes the frames the driver queued on its transmit virtqueue (virtio 1.2 §5.1.6.2),
/// strips the virtio-net header, copies each into a packet from the pool, and returns the buffers on
/// the used ring. One interrupt decision per burst.
/// </summary>
internal static unsafe class VhostDequeue
{
    /// <summary>Segments one chain may have: a frame scattered wider than this is dropped.</summary>
    public const int MaxSegments = 64;

    public static int Burst(VringRuntime rt, PacketPool pool, Span<Packet> pkts, ushort portId, ref QueueCounters counters) =>
        rt.Split is { } split
            ? Burst(new SplitOps(split), rt, pool, pkts, portId, ref counters)
            : Burst(new PackedOps(rt.Packed!), rt, pool, pkts, portId, ref counters);

    [SkipLocalsInit]
    static int Burst<TQueue>(TQueue q, VringRuntime rt, PacketPool pool, Span<Packet> pkts, ushort portId, ref QueueCounters counters)
        where TQueue : struct, IRingOps
    {
        int want = q.CountAvailable(pkts.Length);
        if (want == 0) return 0;
        if (!pool.Alloc(pkts[..want]))
        {
            counters.Dropped += (ulong)want; // rx_nombuf: the frames stay in the ring for the next burst
            return 0;
        }
        VirtqSegment* segBuf = stackalloc VirtqSegment[MaxSegments];
        var segs = new Span<VirtqSegment>(segBuf, MaxSegments);
        ushort* usedIds = stackalloc ushort[UsedBatch.Capacity];
        uint* usedLengths = stackalloc uint[UsedBatch.Capacity];
        var used = new UsedBatch(usedIds, usedLengths);
        var copyEntries = stackalloc DeferredCopies.Entry[DeferredCopies.Capacity];
        var copies = new DeferredCopies(copyEntries);
        uint hdrSize = (uint)rt.NetHeaderSize;
        uint dataRoom = (uint)pool.DataRoom;
        int n = 0;
        bool returned = false;
        ulong bytes = 0;
        for (int i = 0; i < want; i++)
        {
            var r = q.TryPop(segs, out var chain);
            if (r is VirtqPop.Empty or VirtqPop.Broken) break;
            returned = true;
            if (r == VirtqPop.Dropped) { counters.Errors++; continue; }
            var chainSegs = segs[..chain.Segments];
            // §5.1.6.2: every frame starts with the header; a chain shorter than it carries nothing.
            if (chain.ReadableBytes < hdrSize) { used.Add(q, chain.Id, 0); counters.Errors++; continue; }
            uint len = chain.ReadableBytes - hdrSize;
            if (len > dataRoom) { used.Add(q, chain.Id, 0); rt.DroppedOversize++; counters.Errors++; continue; }

            VirtioNetHeader hdr;
            var p = pkts[n++];
            // The common layout (virtio-user, Linux): header and frame in the first descriptor. One
            // read of the 12-byte header (copied once: the peer may rewrite it) and one frame copy,
            // instead of two calls through the segment walk. Readable segments come first (§2.7.4.2).
            ref readonly var first = ref chainSegs[0];
            if (hdrSize == VirtioNetHeader.Size && first.Length >= hdrSize + len)
            {
                hdr = Unsafe.ReadUnaligned<VirtioNetHeader>(first.Data);
                copies.Add(p.Data, first.Data + hdrSize, len);
            }
            else
            {
                hdr = default;
                VirtqScatter.ReadReadable(chainSegs, 0, (byte*)&hdr, hdrSize);
                VirtqScatter.ReadReadable(chainSegs, hdrSize, p.Data, len);
            }
            p.SetLength((int)len);
            p.Port = portId;
            ApplyHeader(p, in hdr);
            used.Add(q, chain.Id, 0);
            bytes += len;
        }
        // Every frame is read out of its buffer before the buffer goes back to the driver.
        copies.Flush();
        used.Flush(q);
        if (returned) rt.Complete();
        if (n < want) PacketPool.FreeBulk(pkts[n..want]);
        counters.Packets += (ulong)n;
        counters.Bytes += bytes;
        return n;
    }

    /// <summary>§5.1.6.2: NEEDS_CSUM means a partial checksum to finish at csum_start + csum_offset.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ApplyHeader(Packet p, in VirtioNetHeader hdr)
    {
        if (hdr.Flags == 0) return;
        if ((hdr.Flags & VirtioNetHeader.FlagNeedsCsum) != 0)
        {
            p.Flags |= OffloadFlags.RxL4ChecksumNone | OffloadFlags.TxL4Checksum;
            p.Header->CsumStart = hdr.CsumStart;
            p.Header->CsumOffset = hdr.CsumOffset;
        }
        else if ((hdr.Flags & VirtioNetHeader.FlagDataValid) != 0)
        {
            p.Flags |= OffloadFlags.RxL4ChecksumGood;
        }
    }
}
