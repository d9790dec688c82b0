using Datapath.Engine.Packets;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// The backend restarts under a running port: either we listen (server=1) and testpmd connects as
/// client=1, or testpmd listens and we connect (and keep retrying). testpmd is killed mid-traffic
/// and a new one takes its place. The link follows, the rings resume from
/// used->idx, and traffic flows again — in both directions, with no hostile values and no leaks.
/// </summary>
[Collection("dpdk")]
public unsafe class VirtioUserReconnectTests
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(true, "")]
    [InlineData(false, "")]
    [InlineData(true, ",packed_vq=1")]
    [InlineData(false, ",packed_vq=1,in_order=0")]
    public void TrafficResumesAfterTestpmdIsKilledAndRestarted(bool weListen, string args)
    {
        string sock = $"/tmp/dptest-vu-{Environment.ProcessId}-{Guid.NewGuid():N}.sock"[..48];
        using var rig = new VirtioUserRig($"net_virtio_user0,path={sock},server={(weListen ? 1 : 0)}{args}");
        // Client mode needs a backend at start; this first testpmd is killed before the loop.
        using var first = weListen ? null : Testpmd.VhostUser(sock, forwardMode: "macswap");
        rig.Start();
        if (weListen) Assert.False(rig.Port.Link.Up); // nobody connected yet

        ulong received = 0, sent = 0;
        bool stop = false;
        // One worker loop for the whole test: it polls and sends through the restart, as an app would.
        rig.Launch(() =>
        {
            Span<Packet> burst = stackalloc Packet[32];
            while (!Volatile.Read(ref stop))
            {
                int n = rig.Port.RxBurst(0, burst);
                PacketPool.FreeBulk(burst[..n]);
                Volatile.Write(ref received, received + (ulong)n);
                if (!rig.Pool.Alloc(burst)) continue;
                foreach (var p in burst) { new Span<byte>(p.Data, 64).Fill(0x11); p.SetLength(64); }
                int accepted = rig.Port.TxBurst(0, burst);
                PacketPool.FreeBulk(burst[accepted..]);
                Volatile.Write(ref sent, sent + (ulong)accepted);
            }
        });
        try
        {
            for (int round = 1; round <= 2; round++)
            {
                using var testpmd = round == 1 && first is not null ? first : Testpmd.VhostUser(sock, forwardMode: "macswap", client: weListen);
                testpmd.WaitForVirtioReady(Patience);
                rig.WaitForLink(up: true);
                ulong rx0 = Volatile.Read(ref received), tx0 = Volatile.Read(ref sent);
                testpmd.StartForwarding();
                Assert.True(VirtioUserRig.WaitUntil(() => Volatile.Read(ref received) > rx0 + 10_000 && Volatile.Read(ref sent) > tx0 + 10_000),
                    $"round {round}: rx {received - rx0}, tx {sent - tx0} since connect");
                // A crash, as far as we can tell: no GET_VRING_BASE, no goodbye.
                testpmd.Kill();
                rig.WaitForLink(up: false);
                // A killed server leaves its socket file; dispose removes it so the next one can bind.
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            rig.Wait();
        }
        Assert.Equal(2UL, rig.ExtendedStat("backend_connections"));
        Assert.Equal(args.Contains("packed_vq=1"), Datapath.Drivers.Virtio.VirtioFeatures.Has(rig.Port.NegotiatedFeatures, Datapath.Drivers.Virtio.VirtioFeatures.RingPacked));
        Assert.Equal(0UL, rig.ExtendedStat("rx_q0_hostile_values"));
        Assert.Equal(0UL, rig.ExtendedStat("tx_q0_hostile_values"));
        Assert.Equal(0UL, rig.Port.GetStats().RxErrors);
    }

    /// <summary>Client mode with nobody listening fails at start and says what to run.</summary>
    [Fact]
    public void ClientWithoutBackendFailsAtStartWithTheFix()
    {
        string sock = $"/tmp/dptest-vu-absent-{Guid.NewGuid():N}.sock";
        using var rig = new VirtioUserRig($"net_virtio_user0,path={sock}");
        var e = Assert.Throws<Datapath.Engine.Ports.PortConfigException>(rig.Start);
        Assert.Contains("dpdk-testpmd --vdev", e.Message);
    }
}
