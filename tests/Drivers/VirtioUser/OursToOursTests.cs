using Datapath.Drivers.Virtio;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// Our net_virtio_user against our net_vhost, both in this process: the vhost side echoes with a
/// macswap forwarding engine on lcore 1 (CPU 1); the test thread sends numbered frames on the
/// virtio-user port and checks every echo byte for byte. Split and packed rings, mergeable rx on
/// and off, one and two queue pairs; then the backend goes away and a new one takes its place.
/// </summary>
[Collection("dpdk")]
public unsafe class OursToOursTests
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    const int QueueTag = 1_000_000; // frame seq = queue * QueueTag + n

    static string Socket() => $"/tmp/dptest-o2o-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40] + ".sock";

    [Theory]
    [InlineData("", 1, 64, 2048)]
    [InlineData(",mrg_rxbuf=0", 1, 1000, 2048)]
    [InlineData(",mrg_rxbuf=1", 1, 1500, 512)]
    [InlineData(",in_order=0", 2, 200, 2048)]
    [InlineData(",packed_vq=1", 1, 64, 2048)]
    [InlineData(",packed_vq=1,mrg_rxbuf=0", 1, 1000, 2048)]
    [InlineData(",packed_vq=1,mrg_rxbuf=1", 1, 1500, 512)]
    [InlineData(",packed_vq=1,in_order=0", 2, 200, 2048)]
    [InlineData(",packed_vq=1,mrg_rxbuf=0", 2, 64, 2048)]
    public void EveryFrameComesBackSwappedAndCountsAgree(string args, int queues, int length, int dataRoom)
    {
        string sock = Socket();
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption("0@0,1@1"), pinMain: false);
        try
        {
            using var vhost = new VhostEchoSide(sock, queues, lcores);
            using var rig = new VirtioUserRig($"net_virtio_user0,path={sock},queues={queues}{args}", dataRoom, queues);
            rig.Start();
            rig.WaitForLink(up: true);
            Assert.True(VirtioUserRig.WaitUntil(() => vhost.Port.Link.Up), "vhost link never came up");
            Assert.Equal(args.Contains("packed_vq=1"), VirtioFeatures.Has(rig.Port.NegotiatedFeatures, VirtioFeatures.RingPacked));
            Assert.Equal(!args.Contains("mrg_rxbuf=0"), VirtioFeatures.Has(rig.Port.NegotiatedFeatures, VirtioFeatures.NetMrgRxbuf));
            // Our back-end offers CONFIGURE_MEM_SLOTS, so our front-end sends its regions one ADD_MEM_REG each.
            Assert.True(vhost.Port.ExtendedStats().Single(kv => kv.Key == "vhost_mem_regions_added").Value >= 2);

            const int PerQueue = 5000;
            var back = EchoAndCheck(rig, queues, PerQueue, length, dataRoom, 0);
            for (int q = 0; q < queues; q++) Assert.Equal(PerQueue, back[q]);

            ulong total = (ulong)(PerQueue * queues);
            var ours = rig.Port.GetStats();
            var theirs = vhost.Port.GetStats();
            Assert.Equal(total, ours.TxPackets);
            Assert.Equal(total, ours.RxPackets);
            Assert.Equal(total, theirs.RxPackets);
            Assert.Equal(total, theirs.TxPackets);
            for (int q = 0; q < queues; q++)
            {
                Assert.Equal((ulong)PerQueue, ours.RxQueues[q].Packets);
                Assert.Equal((ulong)PerQueue, theirs.RxQueues[q].Packets);
            }
            Assert.Equal(ours.TxBytes, theirs.RxBytes);
            Assert.Equal(theirs.TxBytes, ours.RxBytes);
            for (int q = 0; q < queues; q++)
            {
                Assert.Equal(0UL, rig.ExtendedStat($"rx_q{q}_hostile_values"));
                Assert.Equal(0UL, rig.ExtendedStat($"tx_q{q}_hostile_values"));
            }
        }
        finally { Lcore.SetCurrent(Lcore.None); }
    }

    /// <summary>
    /// The vhost port is closed (the front-end sees its socket go) and a new one listens on the same
    /// path: our port, a client, keeps retrying, re-sends the handshake with SET_VRING_BASE where the
    /// old backend stopped, and frames flow again — checked byte for byte both times.
    /// </summary>
    [Theory]
    [InlineData("", 1)]
    [InlineData(",packed_vq=1", 1)]
    [InlineData(",packed_vq=1,in_order=0,mrg_rxbuf=0", 2)]
    public void TrafficResumesWhenTheVhostPortIsClosedAndReplaced(string args, int queues)
    {
        string sock = Socket();
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption("0@0,1@1"), pinMain: false);
        try
        {
            var vhost = new VhostEchoSide(sock, queues, lcores);
            try
            {
                using var rig = new VirtioUserRig($"net_virtio_user0,path={sock},queues={queues}{args}", queues: queues);
                rig.Start();
                const int PerQueue = 2000;
                for (int round = 0; round < 2; round++)
                {
                    rig.WaitForLink(up: true);
                    Assert.True(VirtioUserRig.WaitUntil(() => vhost.Port.Link.Up), $"round {round}: vhost link never came up");
                    var back = EchoAndCheck(rig, queues, PerQueue, 100, 2048, round);
                    for (int q = 0; q < queues; q++) Assert.Equal(PerQueue, back[q]);
                    Assert.Equal((ulong)(PerQueue * queues), vhost.Port.GetStats().RxPackets);
                    if (round == 1) break;
                    vhost.Dispose();
                    rig.WaitForLink(up: false);
                    vhost = new VhostEchoSide(sock, queues, lcores);
                }
                Assert.Equal(2UL, rig.ExtendedStat("backend_connections"));
                var ours = rig.Port.GetStats();
                Assert.Equal((ulong)(2 * PerQueue * queues), ours.TxPackets);
                Assert.Equal((ulong)(2 * PerQueue * queues), ours.RxPackets);
                for (int q = 0; q < queues; q++) Assert.Equal(0UL, rig.ExtendedStat($"rx_q{q}_hostile_values"));
            }
            finally { vhost.Dispose(); }
        }
        finally
        {
            Lcore.SetCurrent(Lcore.None);
            File.Delete(sock);
        }
    }

    /// <summary>
    /// Sends <paramref name="perQueue"/> frames on every queue with a bounded window in flight (the
    /// echo must never find our rx ring full) and checks each echo; returns the echoes per queue.
    /// Frames are numbered per <paramref name="round"/>, so a stale echo from an earlier round fails.
    /// </summary>
    static int[] EchoAndCheck(VirtioUserRig rig, int queues, int perQueue, int length, int dataRoom, int round)
    {
        const int Window = 32;
        var sent = new int[queues];
        var back = new int[queues];
        var seen = new bool[queues, perQueue];
        Span<Packet> burst = stackalloc Packet[32];
        var deadline = DateTime.UtcNow + Patience;
        while (back.Sum() < perQueue * queues && DateTime.UtcNow < deadline)
        {
            for (int q = 0; q < queues; q++)
            {
                uint seq = (uint)(round * 10 * QueueTag + q * QueueTag + sent[q]);
                if (sent[q] < perQueue && sent[q] - back[q] < Window && Frames.Build(rig.Pool, seq, length, dataRoom, out var frame))
                {
                    if (rig.Port.TxBurst(q, new ReadOnlySpan<Packet>(in frame)) == 1) sent[q]++;
                    else frame.Free();
                }
                int n = rig.Port.RxBurst(q, burst);
                foreach (var p in burst[..n])
                {
                    uint s = Frames.CheckEchoed(Frames.Read(p), length);
                    int r = (int)(s / (10 * QueueTag)), fq = (int)(s % (10 * QueueTag) / QueueTag), i = (int)(s % QueueTag);
                    Assert.True(r == round && fq == q && i < perQueue, $"frame {s} on queue {q} in round {round}");
                    Assert.False(seen[q, i], $"frame {s} twice");
                    seen[q, i] = true;
                    back[q]++;
                }
                PacketPool.FreeBulk(burst[..n]);
            }
        }
        return back;
    }
}
