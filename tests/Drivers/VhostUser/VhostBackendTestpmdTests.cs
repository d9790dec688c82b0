using Datapath.Engine.Packets;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// net_vhost against the real peer: dpdk-testpmd's net_virtio_user (DPDK 22.11) as the front-end.
/// Our side runs in this process so every frame can be checked byte for byte.
/// </summary>
[Collection("dpdk")]
public class VhostBackendTestpmdTests
{
    static readonly TimeSpan Handshake = TimeSpan.FromSeconds(30);
    static readonly TimeSpan Traffic = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("mrg_rxbuf=1")]
    [InlineData("mrg_rxbuf=0")]
    [InlineData("mrg_rxbuf=1,in_order=1")]
    [InlineData("mrg_rxbuf=0,in_order=1")]
    [InlineData("packed_vq=1,mrg_rxbuf=1")]
    [InlineData("packed_vq=1,mrg_rxbuf=0")]
    [InlineData("packed_vq=1,mrg_rxbuf=1,in_order=1")]
    public void MacswapEchoesEveryFrameIntact(string virtioArgs)
    {
        using var rig = new VhostPortRig();
        using var testpmd = Testpmd.VirtioUser(rig.Socket, $"queues=1,{virtioArgs}", "--forward-mode=macswap");
        testpmd.Command("start");
        Assert.True(rig.WaitLinkUp(Handshake), "link did not come up\n" + testpmd.Output);

        const int Frames = 2000;
        var sizes = new int[Frames];
        var rnd = new Random(7);
        for (int i = 0; i < Frames; i++) sizes[i] = i % 10 == 0 ? 1514 : rnd.Next(60, 1515);
        var seen = new bool[Frames];
        int sent = 0, back = 0, bad = 0;
        var burst = new Packet[32];
        var deadline = DateTime.UtcNow + Traffic;
        while (back < Frames && DateTime.UtcNow < deadline)
        {
            // At most 64 frames in flight: testpmd drops (not retries) when its tx ring is full,
            // and this test thread is no dedicated poller. Correctness here, rate elsewhere.
            if (sent < Frames && sent - back - bad < 64)
            {
                int n = Math.Min(32, Frames - sent);
                for (int i = 0; i < n; i++) burst[i] = rig.Frame(sent + i, sizes[sent + i]);
                int accepted = rig.Port.TxBurst(0, burst.AsSpan(0, n));
                PacketPool.FreeBulk(burst.AsSpan(accepted, n - accepted));
                sent += accepted;
            }
            int got = rig.Port.RxBurst(0, burst);
            for (int i = 0; i < got; i++)
            {
                if (VhostPortRig.IsSwappedEcho(burst[i], out int seq) && seq >= 0 && seq < Frames && !seen[seq] && burst[i].PacketLength == sizes[seq])
                {
                    seen[seq] = true;
                    back++;
                }
                else bad++;
            }
            PacketPool.FreeBulk(burst.AsSpan(0, got));
        }
        Assert.Equal(0, bad);
        Assert.True(back == Frames, $"{back} of {Frames} echoed; ours: {Describe(rig)}; testpmd: {testpmd.Command("show port stats 0")} {testpmd.Command("show port xstats 0")}");
        var theirs = testpmd.PortStats(0);
        Assert.Equal((ulong)Frames, theirs.RxPackets);
        Assert.Equal((ulong)Frames, theirs.TxPackets);
        var ours = rig.Port.GetStats();
        Assert.Equal((ulong)Frames, ours.TxPackets);
        Assert.Equal((ulong)Frames, ours.RxPackets);
        Assert.Equal(rig.Pool.Count, rig.Pool.Available);
    }

    [Fact]
    public void TheirTxonlyIntoOurRxCountsMatch()
    {
        using var rig = new VhostPortRig();
        using var testpmd = Testpmd.VirtioUser(rig.Socket, $"queues=1", "--forward-mode=txonly", "--txpkts=64");
        Assert.True(testpmd.WaitLinkUp(0, Handshake), testpmd.Output);
        testpmd.Command("start");
        var burst = new Packet[64];
        ulong received = 0;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (DateTime.UtcNow < until) received += Drain(rig, burst);
        testpmd.Command("stop");
        ulong theySent = testpmd.PortStats(0).TxPackets;
        // What is still in the ring arrives after they stopped.
        VhostPortRig.WaitFor(() => (received += Drain(rig, burst)) >= theySent, Traffic);
        Assert.True(theySent > 10000, $"testpmd sent only {theySent}");
        Assert.Equal(theySent, received);
        Assert.Equal(theySent, rig.Port.GetStats().RxPackets);
    }

    [Fact]
    public void OurTxIntoTheirRxonlyCountsMatch()
    {
        using var rig = new VhostPortRig();
        using var testpmd = Testpmd.VirtioUser(rig.Socket, $"queues=1", "--forward-mode=rxonly");
        testpmd.Command("start");
        Assert.True(rig.WaitLinkUp(Handshake), testpmd.Output);
        const int Frames = 100_000;
        var burst = new Packet[32];
        int sent = 0;
        var deadline = DateTime.UtcNow + Traffic;
        while (sent < Frames && DateTime.UtcNow < deadline)
        {
            int n = Math.Min(32, Frames - sent);
            for (int i = 0; i < n; i++) burst[i] = rig.Frame(sent + i, 64);
            int accepted = rig.Port.TxBurst(0, burst.AsSpan(0, n));
            PacketPool.FreeBulk(burst.AsSpan(accepted, n - accepted));
            sent += accepted;
        }
        Assert.Equal(Frames, sent);
        Assert.True(VhostPortRig.WaitFor(() => testpmd.PortStats(0).RxPackets == Frames, Traffic), testpmd.Command("show port stats 0"));
        Assert.Equal((ulong)Frames, rig.Port.GetStats().TxPackets);
    }

    [Fact]
    public void TwoQueuePairsCarryTrafficEach()
    {
        using var rig = new VhostPortRig(queues: 2);
        using var testpmd = Testpmd.VirtioUser(rig.Socket, $"queues=2", "--forward-mode=macswap", "--rxq=2", "--txq=2");
        testpmd.Command("start");
        Assert.True(rig.WaitLinkUp(Handshake), testpmd.Output);
        Assert.True(VhostPortRig.WaitFor(() => rig.Port.Link.Up && QueueLive(rig, 1), Handshake), "second queue pair did not start");
        var burst = new Packet[16];
        var back = new int[2];
        var deadline = DateTime.UtcNow + Traffic;
        int[] sent = [0, 0];
        while ((back[0] < 500 || back[1] < 500) && DateTime.UtcNow < deadline)
        {
            for (int q = 0; q < 2; q++)
            {
                if (sent[q] < 500 && sent[q] - back[q] < 64)
                {
                    for (int i = 0; i < 16; i++) burst[i] = rig.Frame(q * 100000 + sent[q] + i, 128);
                    int accepted = rig.Port.TxBurst(q, burst);
                    PacketPool.FreeBulk(burst.AsSpan(accepted));
                    sent[q] += accepted;
                }
                int got = rig.Port.RxBurst(q, burst);
                for (int i = 0; i < got; i++)
                    if (VhostPortRig.IsSwappedEcho(burst[i], out int seq) && seq / 100000 == q) back[q]++;
                PacketPool.FreeBulk(burst.AsSpan(0, got));
            }
        }
        Assert.True(back[0] >= 500 && back[1] >= 500, $"echoed: q0 {back[0]}, q1 {back[1]}");
        var s = rig.Port.GetStats();
        Assert.True(s.RxQueues[0].Packets >= 500 && s.RxQueues[1].Packets >= 500);
    }

    [Fact]
    public void ClientModeReconnectsWhenTestpmdRestarts()
    {
        using var rig = new VhostPortRig("client=1");
        for (int round = 1; round <= 2; round++)
        {
            using (var testpmd = Testpmd.VirtioUser(rig.Socket, $"queues=1,server=1", "--forward-mode=macswap"))
            {
                testpmd.Command("start");
                Assert.True(rig.WaitLinkUp(Handshake), $"round {round}: link did not come up\n" + testpmd.Output);
                Assert.True(EchoSome(rig, 100), $"round {round}: no echo");
                testpmd.Dispose();
            }
            Assert.True(VhostPortRig.WaitFor(() => !rig.Port.Link.Up, Handshake), $"round {round}: link stayed up after testpmd quit");
        }
        var x = rig.Port.ExtendedStats().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(2UL, x["vhost_connections"]);
        Assert.True(rig.Port.GetStats().RxPackets >= 200, "counters survive the reconnect");
    }

    [Fact]
    public void ServerModeTakesANewFrontEndAfterTheFirstLeaves()
    {
        using var rig = new VhostPortRig();
        for (int round = 1; round <= 2; round++)
        {
            using var testpmd = Testpmd.VirtioUser(rig.Socket, $"queues=1", "--forward-mode=macswap");
            testpmd.Command("start");
            Assert.True(rig.WaitLinkUp(Handshake), $"round {round}\n" + testpmd.Output);
            Assert.True(EchoSome(rig, 100), $"round {round}: no echo");
            testpmd.Dispose();
            Assert.True(VhostPortRig.WaitFor(() => !rig.Port.Connected, Handshake));
        }
    }

    static string Describe(VhostPortRig rig) =>
        string.Join(", ", rig.Port.ExtendedStats().Where(kv => kv.Value != 0).Select(kv => $"{kv.Key}={kv.Value}"))
        + $"; vring0 {rig.Port.VringErrors(0)}; vring1 {rig.Port.VringErrors(1)}";

    static bool QueueLive(VhostPortRig rig, int pair) => rig.Port.VringErrors(2 * pair) is not null && rig.Port.VringErrors(2 * pair + 1) is not null;

    static bool EchoSome(VhostPortRig rig, int frames)
    {
        var burst = new Packet[16];
        int sent = 0, back = 0;
        var deadline = DateTime.UtcNow + Traffic;
        while (back < frames && DateTime.UtcNow < deadline)
        {
            if (sent < frames)
            {
                burst[0] = rig.Frame(sent, 100);
                int a = rig.Port.TxBurst(0, burst.AsSpan(0, 1));
                if (a == 1) sent++; else burst[0].Free();
            }
            int got = rig.Port.RxBurst(0, burst);
            for (int i = 0; i < got; i++) if (VhostPortRig.IsSwappedEcho(burst[i], out _)) back++;
            PacketPool.FreeBulk(burst.AsSpan(0, got));
        }
        return back >= frames;
    }

    static ulong Drain(VhostPortRig rig, Packet[] burst)
    {
        int n = rig.Port.RxBurst(0, burst);
        PacketPool.FreeBulk(burst.AsSpan(0, n));
        return (ulong)n;
    }
}
