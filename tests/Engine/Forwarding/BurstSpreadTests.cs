using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;

namespace Datapath.Tests.Engine.Forwarding;

/// <summary>
/// --record-burst-stats on the data path: every rx poll (the empty ones too) and every tx send is
/// counted under its size, on the stream that made it, and `clear fwd stats` starts the counts over.
/// </summary>
public class BurstSpreadTests
{
    static byte[] Frame() => new byte[64];

    [Fact]
    public void Each_poll_and_send_is_counted_under_the_packets_it_carried()
    {
        using var loop = new RingLoop("burst-spread", recordBursts: true);
        loop.Inject(Frame(), Frame(), Frame(), Frame(), Frame());
        var io = ForwardModes.Create("io");
        loop.RunOnce(io);   // 5 received, 5 sent back out
        loop.RunOnce(io);   // nothing waiting: an empty poll, and no send
        Assert.Equal(5, loop.Collect().Count);

        var rx = loop.Stream.RxBurstSpread!.Snapshot();
        var tx = loop.Stream.TxBurstSpread!.Snapshot();
        Assert.Equal(1UL, rx[5]);
        Assert.Equal(1UL, rx[0]);
        Assert.Equal(2UL, rx.Aggregate(0UL, (a, c) => a + c));
        Assert.Equal(1UL, tx[5]);
        Assert.Equal(1UL, tx.Aggregate(0UL, (a, c) => a + c));

        loop.RunOnce(ForwardModes.Create("txonly"), burstSize: 32);
        Assert.Equal(1UL, loop.Stream.TxBurstSpread.Snapshot()[32]);
        Assert.Equal(32, loop.Collect().Count);
    }

    [Fact]
    public void Clearing_the_forward_statistics_starts_the_counts_over()
    {
        using var loop = new RingLoop("burst-spread-clear", recordBursts: true);
        var rxonly = ForwardModes.Create("rxonly");
        loop.RunOnce(rxonly);
        loop.RunOnce(rxonly);
        Assert.Equal(2UL, loop.Stream.RxBurstSpread!.Snapshot()[0]);

        loop.Stream.ResetCounters();
        Assert.All(loop.Stream.RxBurstSpread.Snapshot(), c => Assert.Equal(0UL, c));
        loop.Inject(Frame(), Frame(), Frame());
        loop.RunOnce(rxonly);
        var rx = loop.Stream.RxBurstSpread.Snapshot();
        Assert.Equal(1UL, rx[3]);
        Assert.Equal(0UL, rx[0]);
    }

    [Fact]
    public void Streams_get_spreads_only_when_the_statistics_are_recorded()
    {
        using var loop = new RingLoop("burst-spread-config");
        using var lcores = new LcoreSet(LcoreMap.FromCoreList("0-1"), pinMain: false);
        try
        {
            var engine = new ForwardingEngine(loop.Ports, lcores, new ForwardingConfig { Mode = "io" });
            engine.BuildStreams();
            Assert.All(engine.Streams, s => Assert.Null(s.RxBurstSpread));
            engine.Reconfigure(engine.Config with { RecordBurstStats = true });
            engine.BuildStreams();
            Assert.All(engine.Streams, s => { Assert.NotNull(s.RxBurstSpread); Assert.NotNull(s.TxBurstSpread); });
        }
        finally { Lcore.SetCurrent(Lcore.None); }
    }
}
