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

    /// <summary>What every frame of a burst is cut and stamped with.</summary>
    readonly struct FrameLayout(uint headerSize, uint dataRoom, ushort port, bool readsHeader)
    {
        public readonly uint HeaderSize = headerSize;
        public readonly uint DataRoom = dataRoom;
        public readonly ushort Port = port;
        /// <summary>CSUM negotiated: the header may ask for something. Else it is never read.</summary>
        public readonly bool ReadsHeader = readsHeader;
    }

    // Never inlined into the wrapper above: its Tier1 took in the whole split burst and then, past the
    // JIT's inlining budget, left Take and PushUsed as a call per frame (seen with DOTNET_JitDisasm);
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
        var used = scratch.Used;
        var copies = scratch.Copies;
        var layout = new FrameLayout((uint)rt.NetHeaderSize, (uint)pool.DataRoom, portId, rt.ReadsTxHeader);
        // Packed rings carry the 12-byte header (VERSION_1 is required), which the lines assume.
        bool lines = q.PopsLines && layout.HeaderSize == VirtioNetHeader.Size;
        // Split rings: one-descriptor chains in a loop of their own, for the same reason (legacy 10-byte
        // headers go through TryPop).
        bool singles = q.PopsSingles && layout.HeaderSize == VirtioNetHeader.Size;
        int filled = 0;
        ulong bytes = 0;
        bool returned = false;
        for (int i = 0; i < want;)
        {
            if (lines && want - i >= PackedVirtqueueDevice.BatchSize)
            {
                copies.MakeRoom(PackedVirtqueueDevice.BatchSize);
                int taken = TakeLines(q, rt, layout, pkts[..want], want - i, ref filled, ref bytes, ref copies, ref counters);
                if (taken > 0)
                {
                    returned = true;
                    i += taken;
                    continue;
                }
            }
            if (singles)
            {
                copies.MakeRoom(1);
                if (used.Room == 0) used.Flush(q);
                int taken = TakeSingles(q, rt, layout, pkts[..want], want - i, ref filled, ref bytes, ref copies, ref used, ref counters);
                if (taken > 0)
                {
                    returned = true;
                    i += taken;
                    if (i == want) break;
                }
            }
            var r = q.TryPop(segs, out var chain);
            if (r is VirtqPop.Empty or VirtqPop.Broken) break;
            returned = true;
            i++;
            if (r == VirtqPop.Dropped) { counters.Errors++; continue; }
            if (Take(rt, layout, in chain, segs[..chain.Segments], pkts[filled], ref copies, ref counters, out uint len))
            {
                filled++;
                bytes += len;
            }
            used.Add(q, chain.Id, 0);
        }
        // Every frame is read out of its buffer before the buffer goes back to the driver: the packed
        // queue has only staged what it was given, and publishes in Complete.
        copies.Flush();
        used.Flush(q);
        if (returned) rt.Complete();
        if (filled < want) PacketPool.FreeBulk(pkts[filled..want]);
        counters.Packets += (ulong)filled;
        counters.Bytes += bytes;
        return filled;
    }

    /// <summary>
    /// Packed rings: whole cache lines of one-descriptor buffers, four at a time, while the ring has a
    /// line ready (<see cref="PackedVirtqueueDevice.TryPopBatchFlat"/>) and <paramref name="pops"/> leaves
    /// room for four; the lines' buffers go back together at the end (<see cref="IRingOps.PushUsedAll"/>).
    /// Returns the buffers taken; <paramref name="filled"/> and <paramref name="bytes"/> move past the
    /// frames made. A method of its own, with no call in its loop: inside the burst, or with a call on
    /// any path of the loop (however rare), the JIT kept the cursors on the stack, loaded and stored
    /// for every frame (DOTNET_JitDisasm), since caller-saved registers do not survive a call.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static int TakeLines<TQueue>(TQueue q, VringRuntime rt, FrameLayout layout, Span<Packet> pkts, int pops,
        ref int filled, ref ulong bytes, ref DeferredCopies copiesOut, ref QueueCounters counters)
        where TQueue : struct, IRingOps
    {
        const int Line = PackedVirtqueueDevice.BatchSize;
        var scratch = rt.Scratch;
        VirtqSegment* segs = scratch.Segments;
        var segSpan = new Span<VirtqSegment>(segs, Line);
        VirtqChain* lineChains = scratch.LineChains;
        var copies = copiesOut;
        // Every frame may add a copy, and running the list would be a call: no more than it has room for.
        pops = Math.Min(Math.Min(pops, copies.Room), BurstScratch.MaxChains);
        int n = filled;
        ulong sum = bytes;
        uint hdrSize = layout.HeaderSize;
        // Where in a buffer our first read is: the header, or the frame behind it.
        nuint firstRead = layout.ReadsHeader ? 0 : hdrSize;
        int taken = 0;
        while (pops - taken >= Line && q.TryPopBatchFlat(segSpan, new Span<VirtqChain>(lineChains + taken, Line)))
        {
            VirtqChain* chains = lineChains + taken;
            taken += Line;
            // The four buffers' first lines we read (written by the driver's core) are asked for
            // together before any is read, as DPDK's batch dequeue does: one miss's wait instead of
            // four in a row. That is the header's line only when the header is read (CSUM); else the
            // frame's: a driver that pushes the header into the headroom in front of the frame
            // (DPDK's virtio-user) leaves it alone in the line before, and a line we do not read
            // stays in the driver's cache for its next write there. (A prefetch never faults: a buffer
            // shorter than the header, dropped below, makes it a hint past its end and no more.)
            if (Sse.IsSupported)
                for (int k = 0; k < Line; k++) Sse.Prefetch0(segs[k].Data + firstRead);
            for (int k = 0; k < Line; k++)
            {
                // One descriptor: its readable bytes are its length (0 for a device-writable one).
                uint readable = chains[k].ReadableBytes;
                // §5.1.6.2: every frame starts with the header; a buffer shorter than it carries nothing.
                if (readable < hdrSize) { counters.Errors++; continue; }
                uint len = readable - hdrSize;
                if (len > layout.DataRoom) { rt.DroppedOversize++; counters.Errors++; continue; }
                Fill(layout, segs[k].Data, len, pkts[n++], ref copies);
                sum += len;
            }
        }
        // Returned after the lines, before any later pop of the burst: pop order (IN_ORDER) holds.
        if (taken > 0) q.PushUsedAll(new ReadOnlySpan<VirtqChain>(lineChains, taken));
        copiesOut = copies;
        filled = n;
        bytes = sum;
        return taken;
    }

    /// <summary>
    /// Split rings: one-descriptor chains (<see cref="SplitVirtqueueDevice.TryPopSingleFlat"/>) while the
    /// ring has them and <paramref name="pops"/>, the copy list and the used batch have room, with no call
    /// in the loop (see <see cref="TakeLines{TQueue}"/>). Returns the chains taken; the first that does
    /// not fit, and everything after it, is left to <see cref="IRingOps.TryPop"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static int TakeSingles<TQueue>(TQueue q, VringRuntime rt, FrameLayout layout, Span<Packet> pkts, int pops,
        ref int filled, ref ulong bytes, ref DeferredCopies copiesOut, ref UsedBatch usedOut, ref QueueCounters counters)
        where TQueue : struct, IRingOps
    {
        var scratch = rt.Scratch;
        VirtqSegment* seg = scratch.Segments;
        VirtqChain* chain = scratch.BatchChains;
        var copies = copiesOut;
        var used = usedOut;
        pops = Math.Min(pops, Math.Min(copies.Room, used.Room));
        int n = filled;
        ulong sum = bytes;
        uint hdrSize = layout.HeaderSize;
        int taken = 0;
        while (taken < pops && q.TryPopSingleFlat(ref *seg, ref *chain))
        {
            taken++;
            // §5.1.6.2: every frame starts with the header; a chain shorter than it carries nothing.
            uint readable = chain->ReadableBytes;
            if (readable < hdrSize) counters.Errors++;
            else if (readable - hdrSize > layout.DataRoom) { rt.DroppedOversize++; counters.Errors++; }
            else
            {
                uint len = readable - hdrSize;
                Fill(layout, seg->Data, len, pkts[n++], ref copies);
                sum += len;
            }
            used.AddInRoom(chain->Id, 0);
        }
        copiesOut = copies;
        usedOut = used;
        filled = n;
        bytes = sum;
        return taken;
    }

    /// <summary>
    /// The frame of one chain into <paramref name="p"/> (its copy maybe deferred); false, counted, for a
    /// chain too short for the header or too long for a packet: it goes back empty.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool Take(VringRuntime rt, FrameLayout layout, scoped in VirtqChain chain, scoped ReadOnlySpan<VirtqSegment> chainSegs,
        Packet p, scoped ref DeferredCopies copies, ref QueueCounters counters, out uint len)
    {
        uint hdrSize = layout.HeaderSize;
        // §5.1.6.2: every frame starts with the header; a chain shorter than it carries nothing.
        len = 0;
        if (chain.ReadableBytes < hdrSize) { counters.Errors++; return false; }
        len = chain.ReadableBytes - hdrSize;
        if (len > layout.DataRoom) { rt.DroppedOversize++; counters.Errors++; return false; }
        // The common layout (virtio-user, Linux): header and frame in the first descriptor. One read
        // of the header and one frame copy, instead of two calls through the segment walk. Readable
        // segments come first (§2.7.4.2).
        ref readonly var first = ref chainSegs[0];
        if (hdrSize == VirtioNetHeader.Size && first.Length >= hdrSize + len)
        {
            copies.MakeRoom(1);
            Fill(layout, first.Data, len, p, ref copies);
            return true;
        }
        VirtioNetHeader hdr = default;
        if (layout.ReadsHeader) VirtqScatter.ReadReadable(chainSegs, 0, (byte*)&hdr, hdrSize);
        VirtqScatter.ReadReadable(chainSegs, hdrSize, p.Data, len);
        Stamp(layout, p, len, in hdr);
        return true;
    }

    /// <summary>
    /// A frame whose 12-byte header and <paramref name="len"/> bytes lie whole at <paramref name="buffer"/>:
    /// the header read once when CSUM lets it ask for anything (copied: the peer may rewrite it), the
    /// frame copied into <paramref name="p"/>, deferred when small: the caller made room in
    /// <paramref name="copies"/> (<see cref="DeferredCopies.MakeRoom"/>), so nothing here makes a call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Fill(FrameLayout layout, byte* buffer, uint len, Packet p, scoped ref DeferredCopies copies)
    {
        const uint HdrSize = VirtioNetHeader.Size;
        // The frame's last line now, with the header's line when it is read (DPDK's vhost prefetches
        // each buffer it maps): the misses are in flight together, long before the deferred copy.
        bool small = HdrSize + len <= PrefetchBelow;
        if (Sse.IsSupported && small) Sse.Prefetch0(buffer + HdrSize + len - 1);
        VirtioNetHeader hdr = default;
        if (layout.ReadsHeader) hdr = Unsafe.ReadUnaligned<VirtioNetHeader>(buffer);
        if (small) copies.AddInRoom(p.Data, buffer + HdrSize, len);
        else FrameCopy.Copy(p.Data, buffer + HdrSize, len);
        Stamp(layout, p, len, in hdr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Stamp(FrameLayout layout, Packet p, uint len, scoped in VirtioNetHeader hdr)
    {
        p.SetLength((int)len);
        p.Port = layout.Port;
        if (layout.ReadsHeader) ApplyHeader(p, in hdr);
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
