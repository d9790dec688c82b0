using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// Engine → guest: copies each packet, behind a virtio-net header, into buffers the driver posted on
/// its receive virtqueue (virtio 1.2 §5.1.6.3). Without MRG_RXBUF a frame must fit one chain; with it
/// a frame spans as many chains as it needs and the header's num_buffers says how many (§5.1.6.4).
/// A frame that finds too few buffers waits (its chains are put back) and the burst stops there.
/// </summary>
internal static unsafe class VhostEnqueue
{
    /// <summary>Segments across all chains of one frame.</summary>
    const int MaxSegments = BurstScratch.MaxSegments;
    const int MaxChains = BurstScratch.MaxChains;
    /// <summary>
    /// Bad chains one burst steps over before it stops as if the ring were empty: a driver can post
    /// them as fast as we drop them (a dropped head goes nowhere on the used ring), so without a
    /// bound one burst could run for good. The next burst goes on from there.
    /// </summary>
    const int MaxRejectedPerBurst = 64;

    public static int Burst(VringRuntime rt, ReadOnlySpan<Packet> pkts, ref QueueCounters counters) =>
        rt.Split is { } split
            ? Burst(new SplitOps(split), rt, pkts, ref counters)
            : Burst(new PackedOps(rt.Packed!), rt, pkts, ref counters);

    /// <summary>Migration: every guest page the frame was written to is marked in the dirty log.</summary>
    static void LogFrame(VringRuntime rt, ReadOnlySpan<VirtqSegment> segments, uint written)
    {
        foreach (ref readonly var s in segments)
        {
            if (written == 0) return;
            if (!s.Writable) continue;
            uint n = Math.Min(s.Length, written);
            rt.LogWrite(s.Data, n);
            written -= n;
        }
    }

    // Compiled on its own, not into the wrapper, as VhostDequeue's burst (see there): the per-frame
    // helpers stay inlined whatever the wrapper's inlining budget.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static int Burst<TQueue>(TQueue q, VringRuntime rt, ReadOnlySpan<Packet> pkts, ref QueueCounters counters)
        where TQueue : struct, IRingOps
    {
        if (!q.HasAvailable()) return 0;
        var scratch = rt.Scratch;
        VirtqSegment* segBuf = scratch.Segments;
        ushort* ids = scratch.ChainIds;
        uint* room = scratch.ChainRoom;
        var used = scratch.Used;
        var copies = scratch.Copies;
        var batch = scratch.Batch;
        bool logging = rt.Log is not null;
        uint hdrSize = (uint)rt.NetHeaderSize;
        int accepted = 0;
        bool returned = false;
        ulong bytes = 0;
        // Bad chains met in this burst: a driver posting nothing else must not hold the lcore in it.
        int rejected = 0;
        // Packed rings: a cache line of buffers at once while each frame fits the buffer it meets
        // (DPDK's vhost batch enqueue); the first line that does not goes back, and the rest of the
        // burst takes buffers one by one.
        bool batching = hdrSize == VirtioNetHeader.Size && !logging;

        for (; accepted < pkts.Length; accepted++)
        {
            if (batching && pkts.Length - accepted >= PackedVirtqueueDevice.BatchSize
                && q.TryPopBatch(new Span<VirtqSegment>(segBuf, PackedVirtqueueDevice.BatchSize), batch))
            {
                var line = pkts.Slice(accepted, PackedVirtqueueDevice.BatchSize);
                if (EachFitsItsBuffer(line, segBuf))
                {
                    for (int k = 0; k < PackedVirtqueueDevice.BatchSize; k++)
                    {
                        var bp = line[k];
                        WriteWhole(in segBuf[k], bp, 1, logging, ref copies);
                        used.Add(q, batch[k].Id, hdrSize + (uint)bp.PacketLength);
                        bytes += (uint)bp.PacketLength;
                    }
                    counters.Packets += PackedVirtqueueDevice.BatchSize;
                    returned = true;
                    accepted += PackedVirtqueueDevice.BatchSize - 1;
                    continue;
                }
                for (int k = PackedVirtqueueDevice.BatchSize - 1; k >= 0; k--) q.UndoPop(batch[k].Id);
                batching = false;
            }
            var p = pkts[accepted];
            uint need = hdrSize + (uint)p.PacketLength;
            int chains = 0, segCount = 0;
            uint total = 0;
            bool starved = false;
            while (total < need)
            {
                if (chains == MaxChains || segCount == MaxSegments) { starved = true; break; }
                var r = q.TryPop(new Span<VirtqSegment>(segBuf + segCount, MaxSegments - segCount), out var chain);
                if (r is VirtqPop.Empty or VirtqPop.Broken) { starved = true; break; }
                if (r == VirtqPop.Dropped)
                {
                    returned = true;
                    counters.Errors++;
                    if (++rejected == MaxRejectedPerBurst) { starved = true; break; }
                    continue;
                }
                // §5.1.6.3.1: every receive buffer holds at least the header. One that does not can
                // never take a frame: put back, it would stop the queue for good; it goes back empty.
                // (Only as a frame's first chain: later ones must keep their place in pop order.)
                if (chains == 0 && chain.WritableBytes < hdrSize)
                {
                    used.Add(q, chain.Id, 0);
                    returned = true;
                    counters.Errors++;
                    if (++rejected == MaxRejectedPerBurst) { starved = true; break; }
                    continue;
                }
                ids[chains] = chain.Id;
                room[chains] = chain.WritableBytes;
                chains++;
                segCount += chain.Segments;
                total += chain.WritableBytes;
                if (!rt.Mergeable) break;
            }

            if (total < need)
            {
                // Put the chains back, newest first, for a later burst (or a larger buffer).
                for (int c = chains - 1; c >= 0; c--) q.UndoPop(ids[c]);
                if (starved) break;
                // Without MRG_RXBUF a frame larger than the driver's buffers can never be delivered.
                rt.DroppedOversize++;
                counters.Errors++;
                // The frame is consumed (freed below with the accepted ones) but not delivered.
                continue;
            }

            if (hdrSize == VirtioNetHeader.Size && FitsWhole(in segBuf[0], p))
            {
                WriteWhole(in segBuf[0], p, (ushort)chains, logging, ref copies);
            }
            else
            {
                VirtioNetHeader hdr = default;
                hdr.NumBuffers = (ushort)chains;
                var cursor = new WritableCursor(new ReadOnlySpan<VirtqSegment>(segBuf, segCount));
                cursor.Write((byte*)&hdr, hdrSize);
                for (var seg = p; !seg.IsNull; seg = seg.Next) cursor.Write(seg.Data, (uint)seg.DataLength);
            }

            if (logging) LogFrame(rt, new ReadOnlySpan<VirtqSegment>(segBuf, segCount), need);

            // Chains were filled in order: each holds its writable bytes until the frame runs out (§5.1.6.4).
            uint left = need;
            for (int c = 0; c < chains; c++)
            {
                uint n = Math.Min(room[c], left);
                used.Add(q, ids[c], n);
                left -= n;
            }
            returned = true;
            bytes += (uint)p.PacketLength;
            counters.Packets++;
        }
        // Frames before the used entries that cover them: the driver reads a frame once its entry is published.
        copies.Flush();
        used.Flush(q);
        if (returned) rt.Complete();
        counters.Bytes += bytes;
        // Copied (or dropped as oversize): the packets are ours to free.
        PacketPool.FreeBulk(pkts[..accepted]);
        return accepted;
    }

    /// <summary>Whether each frame of a line fits, whole, the one buffer it got (see <see cref="FitsWhole"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool EachFitsItsBuffer(ReadOnlySpan<Packet> line, VirtqSegment* segments)
    {
        for (int k = 0; k < line.Length; k++)
            if (!FitsWhole(in segments[k], line[k])) return false;
        return true;
    }

    /// <summary>The common case: a single-segment frame, behind a 12-byte header, fits one writable buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool FitsWhole(in VirtqSegment segment, Packet p) =>
        segment.Writable && p.SegmentCount == 1 && segment.Length >= VirtioNetHeader.Size + (uint)p.PacketLength;

    /// <summary>
    /// A frame that <see cref="FitsWhole"/> its buffer: the header (all zero but num_buffers, §5.1.6.4)
    /// and one frame copy, without the cursor's walk. Deferred, unless the dirty log follows the
    /// write (a page is marked after it is written).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void WriteWhole(in VirtqSegment segment, Packet p, ushort numBuffers, bool logging, scoped ref DeferredCopies copies)
    {
        byte* frame = segment.Data + VirtioNetHeader.Size;
        VirtioNetHeader.StoreUnlessEqual(segment.Data, 0, VirtioNetHeader.Last4WithNumBuffers(numBuffers));
        if (logging) Buffer.MemoryCopy(p.Data, frame, segment.Length - VirtioNetHeader.Size, (uint)p.DataLength);
        else copies.Add(frame, p.Data, (uint)p.DataLength);
    }
}
