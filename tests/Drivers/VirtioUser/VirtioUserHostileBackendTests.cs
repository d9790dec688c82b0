using Datapath.Drivers.VirtioNet;
using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VirtioUser;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// The backend writes our used rings; here the test plays a hostile one. Every bad value is counted
/// and dropped, good packets still come through, and nothing leaks when the queue is released.
/// </summary>
public unsafe class VirtioUserHostileBackendTests
{
    const int Size = 16;

    [Fact]
    public void BadUsedValuesAreCountedAndDroppedWithoutLeaks()
    {
        using var pool = PacketPool.Create("hostile", 256, new MemoryOptions { NoHuge = true, FilePrefix = "dptest-hostile" }, cacheSize: 0);
        var layout = new SplitRingLayout(Size);
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)layout.TotalSize, 4096);
        try
        {
            var ring = layout.Place(memory);
            var q = new MergeableRxQueue<SplitDriverRing>(0, new SplitDriverRing(ring, inOrder: false), pool, portId: 3);
            Assert.Equal(Size, pool.InUse); // the ring is full of buffers

            var counters = new QueueCounters();
            Span<Packet> got = stackalloc Packet[8];
            ushort used = 0;
            void Use(uint id, uint len, ushort numBuffers = 1)
            {
                if (id < Size) ((VirtioNetHeader*)ring.Desc[id].Addr)->NumBuffers = numBuffers;
                ring.UsedRing[used & (Size - 1)] = new VirtqUsedElement { Id = id, Len = len };
                Volatile.Write(ref *ring.UsedIdx, ++used);
            }
            ushort Head(int i) => ring.AvailRing[i & (Size - 1)];

            Use(Head(0), 5);                               // shorter than the header
            Assert.Equal(0, q.Receive(got, ref counters));
            Use(Head(1), 100, numBuffers: 0);              // num_buffers 0
            Assert.Equal(0, q.Receive(got, ref counters));
            Use(Head(2), 100, numBuffers: 60000);          // more buffers than the ring has
            Assert.Equal(0, q.Receive(got, ref counters));
            Use(9999, 100);                                // id out of range
            Assert.Equal(0, q.Receive(got, ref counters));
            Use(Head(3), 5000);                            // longer than the buffer
            Assert.Equal(0, q.Receive(got, ref counters));
            Assert.Equal(5UL, q.HostileValues);
            Assert.Equal(4UL, counters.Errors); // the out-of-range id never became a packet

            Use(Head(4), 12 + 60);                         // a good one still arrives
            Assert.Equal(1, q.Receive(got, ref counters));
            Assert.Equal(60, got[0].PacketLength);
            Assert.Equal((ushort)3, got[0].Port);
            got[0].Free();
            // The same buffer used twice in one batch: the second is not outstanding any more.
            // (Once refilled, its descriptor may carry a new buffer, and a reuse is then legitimate.)
            uint twice = Head(5);
            Use(twice, 72);
            Use(twice, 72);
            Assert.Equal(1, q.Receive(got, ref counters));
            got[0].Free();
            Assert.Equal(6UL, q.HostileValues);

            q.Dispose();
            Assert.Equal(0, pool.InUse);
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }
}
