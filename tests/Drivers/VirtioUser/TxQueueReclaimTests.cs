using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VirtioNet;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// When the transmit queue takes back what the device used (IDriverRing.ReclaimWhenFull): a packed
/// ring only when a burst might not fit, a split ring at every burst. Our own device consumes the
/// frames through the same ring; the pool's count says which packets are still held.
/// </summary>
public unsafe class TxQueueReclaimTests
{
    const int Size = 16;

    static PacketPool NewPool(string name) =>
        PacketPool.Create(name, 256, new MemoryOptions { NoHuge = true, FilePrefix = "dptest-" + name }, cacheSize: 0);

    static void Send(PacketPool pool, VirtioNetTxQueue q, int count, ref QueueCounters c)
    {
        var pkts = new Packet[count];
        Assert.True(pool.Alloc(pkts));
        foreach (var p in pkts) p.SetLength(60);
        Assert.Equal(count, q.Transmit(pkts, ref c));
    }

    [Fact]
    public void Packed_queue_reclaims_only_when_a_burst_might_not_fit()
    {
        using var pool = NewPool("txpacked");
        const int Slots = 128;
        var layout = new PackedRingLayout(Slots);
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)layout.TotalSize, 4096);
        try
        {
            var ring = layout.Place(memory);
            var region = pool.Region;
            using var q = new TxQueue<PackedDriverRing>(1, new PackedDriverRing(ring, inOrder: true), new MappedMemory([((ulong)region.Base, region.Length)]), zeroHeader: 0);
            var device = new PackedVirtqueueDevice(ring, new GuestMemoryRegion((ulong)region.Base, (nint)region.Base, region.Length), inOrder: true);
            var c = new QueueCounters();
            Span<VirtqSegment> segs = stackalloc VirtqSegment[4];

            Send(pool, q, 10, ref c);
            Assert.Equal(10, Consume(device, segs));
            // 118 slots free, a burst of 40 needs at most 2 x 40 + 33 (the largest packet): nothing is
            // reclaimed, the 10 used packets are still held.
            Send(pool, q, 40, ref c);
            Assert.Equal(50, pool.InUse);
            // 78 free: this burst might not fit, so the 10 used ones come back first.
            Send(pool, q, 40, ref c);
            Assert.Equal(80, pool.InUse);
            Assert.Equal(80, Consume(device, segs));
            q.Release();
            Assert.Equal(0, pool.InUse);
            Assert.Equal(90ul, c.Packets);
            Assert.Equal(0ul, q.HostileValues);
        }
        finally { NativeMemory.AlignedFree(memory); }
    }

    [Fact]
    public void Split_queue_reclaims_at_every_burst()
    {
        using var pool = NewPool("txsplit");
        var layout = new SplitRingLayout(Size);
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)layout.TotalSize, 4096);
        try
        {
            var ring = layout.Place(memory);
            var region = pool.Region;
            using var q = new TxQueue<SplitDriverRing>(1, new SplitDriverRing(ring, inOrder: true), new MappedMemory([((ulong)region.Base, region.Length)]), zeroHeader: 0);
            var device = new SplitVirtqueueDevice(ring, new GuestMemoryRegion((ulong)region.Base, (nint)region.Base, region.Length));
            var c = new QueueCounters();
            Span<VirtqSegment> segs = stackalloc VirtqSegment[4];

            Send(pool, q, 10, ref c);
            Assert.Equal(10, ConsumeSplit(device, segs));
            Send(pool, q, 2, ref c);
            Assert.Equal(2, pool.InUse); // the 10 used ones were freed at the start of the burst
            q.Release();
            Assert.Equal(0, pool.InUse);
        }
        finally { NativeMemory.AlignedFree(memory); }
    }

    static int Consume(PackedVirtqueueDevice device, Span<VirtqSegment> segs)
    {
        int n = 0;
        while (device.TryPop(segs, out var chain) == VirtqPop.Chain) { Assert.True(device.PushUsed(chain.Id, 0)); n++; }
        device.PublishUsed();
        return n;
    }

    static int ConsumeSplit(SplitVirtqueueDevice device, Span<VirtqSegment> segs)
    {
        int n = 0;
        while (device.TryPop(segs, out var chain) == VirtqPop.Chain) { Assert.True(device.PushUsed(chain.Id, 0)); n++; }
        device.PublishUsed();
        return n;
    }
}
