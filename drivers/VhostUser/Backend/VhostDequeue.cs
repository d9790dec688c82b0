using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
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
    /// <summary>
    /// Frames (with header) up to this many bytes have their last line prefetched and their copy
    /// deferred to the end of the burst, when the misses of many run in parallel. Longer ones are
    /// copied as they are taken (as DPDK's batch dequeue copies every frame): a copy that streams
    /// its own 20-odd lines gains nothing from waiting, and 32 of them deferred (48 KiB for 1518 B)
    /// no longer fit L1, so the lines prefetched for each were gone again before it ran.
    /// </summary>
    const uint PrefetchBelow = 256;

    public static int Burst(VringRuntime rt, PacketPool pool, Span<Packet> pkts, ushort portId, ref QueueCounters counters) =>
        rt.Split is { } split
            ? Burst(new SplitOps(split), rt, pool, pkts, portId, ref counters)
            : Burst(new PackedOps(rt.Packed!), rt, pool, pkts, portId, ref counters);

    // Never inlined into the wrapper above: its Tier1 took in the whole split burst and then, past the
    // JIT's inlining budget, left Frames.Take and PushUsed as a call per frame (seen with DOTNET_JitDisasm);
    // compiled on its own, the burst inlines both. One call per burst instead of two per packet.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static int Burst<TQueue>(TQueue q, VringRuntime rt, PacketPool pool, Span<Packet> pkts, ushort portId, ref QueueCounters counters)
        where TQueue : struct, IRingOps
    {
        int want = q.BurstSize(pkts.Length);
        if (want == 0) return 0;
        if (!pool.Alloc(pkts[..want]))
        {
            // A packed burst asked for all it could take without counting; with the pool short, take
            // what is waiting. rx_nombuf counts the frames left in the ring for a later burst.
            int waiting = q.CountAvailable(want);
            if (waiting == want || !pool.Alloc(pkts[..waiting]))
            {
                counters.Dropped += (ulong)waiting;
                return 0;
            }
            want = waiting;
        }
        var scratch = rt.Scratch;
        var segs = new Span<VirtqSegment>(scratch.Segments, MaxSegments);
        var batch = scratch.Batch;
        var used = scratch.Used;
        var copies = scratch.Copies;
        var frames = new Frames(pkts, (uint)rt.NetHeaderSize, (uint)pool.DataRoom, portId, rt.ReadsTxHeader);
        // Where in a buffer our first read is: the header, or the frame behind it.
        nuint firstRead = rt.ReadsTxHeader ? 0 : (nuint)rt.NetHeaderSize;
        bool returned = false;
        for (int i = 0; i < want;)
        {
            // Packed rings: a cache line of one-descriptor buffers at once, when the ring has one ready.
            if (want - i >= PackedVirtqueueDevice.BatchSize && q.TryPopBatch(segs, batch))
            {
                returned = true;
                // The four buffers' first lines we read (written by the driver's core) are asked for
                // together before any is read, as DPDK's batch dequeue does: one miss's wait instead of
                // four in a row. That is the header's line only when the header is read (CSUM); else the
                // frame's: a driver that pushes the header into the headroom in front of the frame
                // (DPDK's virtio-user) leaves it alone in the line before, and a line we do not read
                // stays in the driver's cache for its next write there. (A prefetch never faults: a buffer
                // shorter than the header, dropped in Take, makes it a hint past its end and no more.)
                if (Sse.IsSupported)
                    for (int k = 0; k < PackedVirtqueueDevice.BatchSize; k++) Sse.Prefetch0(segs[k].Data + firstRead);
                for (int k = 0; k < PackedVirtqueueDevice.BatchSize; k++)
                    frames.Take(q, rt, in batch[k], segs.Slice(k, 1), ref used, ref copies, ref counters);
                i += PackedVirtqueueDevice.BatchSize;
                continue;
            }
            var r = q.TryPop(segs, out var chain);
            if (r is VirtqPop.Empty or VirtqPop.Broken) break;
            returned = true;
            i++;
            if (r == VirtqPop.Dropped) { counters.Errors++; continue; }
            frames.Take(q, rt, in chain, segs[..chain.Segments], ref used, ref copies, ref counters);
        }
        int n = frames.Count;
        // Every frame is read out of its buffer before the buffer goes back to the driver.
        copies.Flush();
        used.Flush(q);
        if (returned) rt.Complete();
        if (n < want) PacketPool.FreeBulk(pkts[n..want]);
        counters.Packets += (ulong)n;
        counters.Bytes += frames.Bytes;
        return n;
    }

    /// <summary>The packets of one burst being filled, one frame per taken chain.</summary>
    ref struct Frames(Span<Packet> pkts, uint hdrSize, uint dataRoom, ushort portId, bool readsHeader)
    {
        readonly Span<Packet> _pkts = pkts;
        public int Count;
        public ulong Bytes;

        /// <summary>
        /// The frame of one chain into the next packet (its copy deferred), the chain onto the used batch.
        /// A chain too short for the header or too long for a packet goes back empty, counted.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Take<TQueue>(TQueue q, VringRuntime rt, scoped in VirtqChain chain, scoped ReadOnlySpan<VirtqSegment> chainSegs,
            scoped ref UsedBatch used, scoped ref DeferredCopies copies, ref QueueCounters counters)
            where TQueue : struct, IRingOps
        {
            // §5.1.6.2: every frame starts with the header; a chain shorter than it carries nothing.
            if (chain.ReadableBytes < hdrSize) { used.Add(q, chain.Id, 0); counters.Errors++; return; }
            uint len = chain.ReadableBytes - hdrSize;
            if (len > dataRoom) { used.Add(q, chain.Id, 0); rt.DroppedOversize++; counters.Errors++; return; }

            VirtioNetHeader hdr = default;
            var p = _pkts[Count++];
            // The common layout (virtio-user, Linux): header and frame in the first descriptor. One
            // read of the 12-byte header when CSUM lets it ask for anything (copied once: the peer may
            // rewrite it) and one frame copy,
            // instead of two calls through the segment walk. Readable segments come first (§2.7.4.2).
            ref readonly var first = ref chainSegs[0];
            if (hdrSize == VirtioNetHeader.Size && first.Length >= hdrSize + len)
            {
                // The frame's last line now, with the header's line when it is read (DPDK's vhost prefetches
                // each buffer it maps): the misses are in flight together, long before the deferred copy.
                bool small = hdrSize + len <= PrefetchBelow;
                if (Sse.IsSupported && small) Sse.Prefetch0(first.Data + hdrSize + len - 1);
                if (readsHeader) hdr = Unsafe.ReadUnaligned<VirtioNetHeader>(first.Data);
                if (small) copies.Add(p.Data, first.Data + hdrSize, len);
                else Buffer.MemoryCopy(first.Data + hdrSize, p.Data, len, len);
            }
            else
            {
                if (readsHeader) VirtqScatter.ReadReadable(chainSegs, 0, (byte*)&hdr, hdrSize);
                VirtqScatter.ReadReadable(chainSegs, hdrSize, p.Data, len);
            }
            p.SetLength((int)len);
            p.Port = portId;
            if (readsHeader) ApplyHeader(p, in hdr);
            used.Add(q, chain.Id, 0);
            Bytes += len;
        }
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
