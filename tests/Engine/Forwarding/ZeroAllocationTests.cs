using Datapath.Drivers;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Engine.Forwarding;

/// <summary>
/// DESIGN.md: nothing on the data path allocates managed memory. Two net_ring ports wired back to
/// back, io forwarding on a real worker lcore, a million packets: the forwarding thread's allocated
/// bytes (published by the loop itself) must not move once it is warm.
/// </summary>
public sealed class ZeroAllocationTests
{
    const ulong WarmUpPackets = 100_000;
    // The loop publishes every 1024 passes of at most 2 streams x 32 packets: a new value appears
    // within this many packets, so waiting this long guarantees a publication after a mark.
    const ulong PublishWindow = 1024 * 2 * 32 + 1;
    const ulong MeasuredPackets = 1_000_000;
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    [Fact]
    public void Io_forwarding_between_ring_ports_allocates_nothing_in_the_steady_state()
    {
        var memory = new MemoryOptions { FilePrefix = "datapath-test" };
        using var pool = PacketPool.Create("zero-alloc", 4096, memory);
        using var ports = new PortTable();
        var registry = DriverCatalog.CreateRegistry();
        var context = new DriverContext(memory, ports);
        ports.Add(registry.Create("net_ring0", context));
        ports.Add(registry.Create("net_ring1,peer=net_ring0", context));
        foreach (var port in ports.All)
        {
            port.Configure(new PortConfig { Pool = pool });
            port.Start();
        }

        try
        {
            using var lcores = new LcoreSet(LcoreMap.FromCoreList("0-1"), pinMain: false);
            var engine = new ForwardingEngine(ports, lcores, new ForwardingConfig { Mode = "io" });
            // 8 bursts of 32 on each of the two streams: 512 packets circling, well within the rings.
            engine.Start(txFirstBursts: 8);
            try
            {
                var fwd = Assert.Single(engine.Lcores);

                // Warm-up: first calls JIT, tier up and run class constructors, which may allocate.
                WaitForPackets(engine, WarmUpPackets);
                ulong mark = WaitForPackets(engine, engine.Totals().RxPackets + PublishWindow);
                long before = fwd.AllocatedBytes;

                WaitForPackets(engine, mark + MeasuredPackets);
                engine.Stop();  // the loop publishes once more on its way out
                long after = fwd.AllocatedBytes;

                var totals = engine.Totals();
                Assert.True(totals.RxPackets >= mark + MeasuredPackets);
                Assert.Equal(0UL, totals.Dropped);
                Assert.True(after == before,
                    $"the forwarding lcore allocated {after - before} B over {totals.RxPackets - mark} packets");
            }
            finally { engine.Stop(); }
        }
        finally { Lcore.SetCurrent(Lcore.None); }
    }

    /// <summary>Polls the counters (no timing assertion: the deadline only keeps a hang from lasting forever).</summary>
    static ulong WaitForPackets(ForwardingEngine engine, ulong target)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            ulong rx = engine.Totals().RxPackets;
            if (rx >= target) return rx;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"forwarded {rx} of {target} packets in {Patience}; is the lcore running?");
            Thread.Sleep(5);
        }
    }
}
