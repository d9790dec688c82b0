using Datapath.Drivers.VhostUser;
using Datapath.Engine.Packets;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// After hostile front-ends have been thrown out, the real peer — dpdk-testpmd's virtio-user — connects
/// to the same port and echoes frames: the attacks left the port fully usable.
/// </summary>
[Collection("dpdk")]
public class HostileFrontendTestpmdTests
{
    static readonly TimeSpan Handshake = TimeSpan.FromSeconds(30);

    [Fact]
    public void TestpmdEchoesThroughAPortThatSurvivedHostileFrontends()
    {
        using var rig = new VhostPortRig();
        // Three rogues, one after the other: an oversized ring, an unknown request, a ring index out of range.
        foreach (var attack in new Action<RogueFrontend>[]
        {
            r => r.Send(VhostUserRequest.SetVringNum, new VringState { Index = 0, Num = 70000 }),
            r => r.SendRaw(new VhostUserHeader { Request = 1000, Flags = 1 }),
            r => r.Send(VhostUserRequest.SetVringBase, new VringState { Index = 200, Num = 0 }),
        })
        {
            using var rogue = RogueFrontend.Connect(rig.Socket);
            attack(rogue);
            Assert.True(rogue.WaitHangUp(TimeSpan.FromSeconds(10)));
        }
        Assert.True(VhostPortRig.WaitFor(() => rig.Port.ExtendedStats().First(kv => kv.Key == "vhost_protocol_errors").Value == 3, Handshake));

        using var testpmd = Testpmd.VirtioUser(rig.Socket, "queues=1", "--forward-mode=macswap");
        testpmd.Command("start");
        Assert.True(rig.WaitLinkUp(Handshake), "link did not come up\n" + testpmd.Output);
        const int Frames = 100;
        var burst = new Packet[32];
        int sent = 0, back = 0;
        var deadline = DateTime.UtcNow + Handshake;
        while (back < Frames && DateTime.UtcNow < deadline)
        {
            if (sent < Frames)
            {
                int n = Math.Min(32, Frames - sent);
                for (int i = 0; i < n; i++) burst[i] = rig.Frame(sent + i, 128);
                int accepted = rig.Port.TxBurst(0, burst.AsSpan(0, n));
                PacketPool.FreeBulk(burst.AsSpan(accepted, n - accepted));
                sent += accepted;
            }
            int got = rig.Port.RxBurst(0, burst);
            for (int i = 0; i < got; i++) if (VhostPortRig.IsSwappedEcho(burst[i], out _)) back++;
            PacketPool.FreeBulk(burst.AsSpan(0, got));
        }
        Assert.Equal(Frames, back);
    }
}
