using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// A receive ring kept full the way the virtio-net rx queue keeps it: take a burst of completions,
/// hand the packets up and free them, refill with a fresh burst from the lcore's pool cache. In order,
/// each slot then gets its own buffer back lap after lap, so the driver finds the descriptor's
/// address already there (and stores nothing: the device's copy of the line stays valid).
/// </summary>
public sealed unsafe class SplitRefillSlotsTests
{
    const int QueueSize = 256, Burst = 32;

    [Fact]
    public void Each_slot_gets_its_buffer_back_when_bursts_are_freed_as_received()
    {
        using var f = new SplitRingFixture(QueueSize);
        var driver = new SplitVirtqueueDriver(f.Ring, inOrder: true);
        using var pool = PacketPool.Create("rx-slots", 1024, NoHuge);
        using var lcore = AsLcore(2);
        var fresh = new Packet[Burst];
        var received = new Packet[Burst];
        var done = new VirtqCompletion[Burst];

        void Refill()
        {
            while (driver.FreeDescriptors > 0)
            {
                Assert.True(pool.Alloc(fresh));
                foreach (var p in fresh)
                    Assert.True(driver.TryAdd([VirtqBuffer.Writable((ulong)p.Data, 100)], p.Address, out _));
            }
            driver.Publish();
        }

        void OneLap()
        {
            // The device fills every buffer in ring order; the driver takes them a burst at a time.
            for (int i = 0; i < QueueSize; i++) f.WriteUsed((uint)((*f.Ring.UsedIdx) & (QueueSize - 1)), 64);
            for (int b = 0; b < QueueSize / Burst; b++)
            {
                Assert.Equal(Burst, driver.PollUsed(done));
                for (int i = 0; i < Burst; i++) received[i] = Packet.FromAddress(done[i].Cookie);
                PacketPool.FreeBulk(received);
                Refill();
            }
        }

        Refill();
        OneLap();
        var addresses = new ulong[QueueSize];
        for (int i = 0; i < QueueSize; i++) addresses[i] = f.Ring.Desc[i].Addr;
        for (int lap = 0; lap < 3; lap++)
        {
            OneLap();
            for (int i = 0; i < QueueSize; i++) Assert.Equal(addresses[i], f.Ring.Desc[i].Addr);
        }
        Assert.Equal(0ul, driver.Errors.Total);
    }
}
