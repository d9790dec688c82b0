using System.Diagnostics;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;

namespace Datapath.Tests.Engine.Forwarding;

/// <summary>
/// The modes run by a <see cref="ForwardingEngine"/> on a real worker lcore, with traffic looping
/// between two back-to-back net_ring ports (`start tx_first`): the data path must not allocate.
/// </summary>
public class ModesOnLcoresTests
{
    [Theory]
    [InlineData("mac", false)]
    [InlineData("macswap", false)]
    [InlineData("macswap", true)]
    [InlineData("csum", false)]
    [InlineData("flowgen", false)]
    public void Forwards_on_a_worker_lcore_without_allocating(string mode, bool recordBursts)
    {
        using var loop = new RingLoop($"fwd-lcores-{mode}-{recordBursts}", flowCount: 64);
        using var lcores = new LcoreSet(LcoreMap.FromCoreList("0-1"), pinMain: false);
        try
        {
            var engine = new ForwardingEngine(loop.Ports, lcores, new ForwardingConfig { Mode = mode, Topology = PortTopology.Paired, RecordBurstStats = recordBursts });
            engine.Start(txFirstBursts: 1);
            try
            {
                // Warm up (JIT, tiering), then take the lcore's allocation count and forward as much again.
                WaitForPackets(engine, 200_000);
                long before = engine.Lcores[0].AllocatedBytes;
                WaitForPackets(engine, 400_000);
                engine.Stop();
                Assert.Equal(before, engine.Lcores[0].AllocatedBytes);
            }
            finally { engine.Stop(); }
            var totals = engine.Totals();
            Assert.True(totals.TxPackets >= 400_000, $"{totals.TxPackets} packets sent");
            if (recordBursts)
            {
                // Every packet sent was counted in some burst: the spread's packets add up to the counter.
                ulong spreadPackets = 0;
                foreach (var s in engine.Streams)
                {
                    var tx = s.TxBurstSpread!.Snapshot();
                    for (int n = 0; n < tx.Length; n++) spreadPackets += tx[n] * (ulong)n;
                }
                Assert.Equal(totals.TxPackets, spreadPackets);
            }
        }
        finally { Lcore.SetCurrent(Lcore.None); }
    }

    static void WaitForPackets(ForwardingEngine engine, ulong packets)
    {
        // A deadline only so that a broken mode fails instead of hanging; no rate is asserted.
        var clock = Stopwatch.StartNew();
        while (engine.Totals().TxPackets < packets)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"forwarding stalled at {engine.Totals().TxPackets} packets");
            Thread.Sleep(1);
        }
    }
}
