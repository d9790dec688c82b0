using System.Diagnostics;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// DESIGN.md: nothing on the data path allocates managed memory. Our net_vhost port forwarded by
/// the engine on a worker lcore, dpdk-testpmd's net_virtio_user on the other end: txonly into its
/// rxonly (our enqueue) and its txonly into our rxonly (our dequeue), on split and packed rings.
/// After a warm-up (JIT, tiering) the lcore's allocated bytes must not move over 300,000 packets.
/// </summary>
[Collection("dpdk")]
public class VhostZeroAllocationTests
{
    static readonly TimeSpan Handshake = TimeSpan.FromSeconds(30);
    const ulong WarmUp = 200_000, Measured = 300_000;

    [Theory]
    [InlineData("txonly", "rxonly", "")]
    [InlineData("rxonly", "txonly", "")]
    [InlineData("txonly", "rxonly", ",packed_vq=1")]
    [InlineData("rxonly", "txonly", ",packed_vq=1")]
    public void Vhost_bursts_allocate_nothing_in_the_steady_state(string ours, string theirs, string virtioArgs)
    {
        using var rig = new VhostPortRig();
        using var testpmd = Testpmd.VirtioUser(rig.Socket, "queues=1" + virtioArgs, $"--forward-mode={theirs}", "--txpkts=64");
        testpmd.StartForwarding();
        Assert.True(rig.WaitLinkUp(Handshake), "link did not come up\n" + testpmd.Output);
        // Our forwarding lcore on CPU 0, testpmd's on the last CPU: two pollers on one core crawl.
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption("0@1,1@0"), pinMain: false);
        try
        {
            var engine = new ForwardingEngine(rig.Ports, lcores, new ForwardingConfig { Mode = ours, Topology = PortTopology.Loop });
            engine.Start();
            try
            {
                var fwd = Assert.Single(engine.Lcores);
                WaitForPackets(engine, WarmUp);
                long before = fwd.AllocatedBytes;
                ulong mark = Moved(engine);
                WaitForPackets(engine, mark + Measured);
                engine.Stop();  // the loop publishes its count once more on its way out
                long after = fwd.AllocatedBytes;
                Assert.True(after == before, $"{ours} on net_vhost allocated {after - before} B over {Moved(engine) - mark} packets");
            }
            finally { engine.Stop(); }
        }
        finally { Lcore.SetCurrent(Lcore.None); }
    }

    static ulong Moved(ForwardingEngine engine)
    {
        var t = engine.Totals();
        return t.RxPackets + t.TxPackets;
    }

    static void WaitForPackets(ForwardingEngine engine, ulong packets)
    {
        // A deadline only so that a stalled ring fails instead of hanging; no rate is asserted.
        var clock = Stopwatch.StartNew();
        while (Moved(engine) < packets)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"traffic stalled at {Moved(engine)} packets");
            Thread.Sleep(1);
        }
    }
}
