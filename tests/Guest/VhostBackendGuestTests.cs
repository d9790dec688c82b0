using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;
using Datapath.Tests.Drivers.VhostUser;
using Datapath.Tests.Support;
using Xunit.Abstractions;

namespace Datapath.Tests.Guest;

/// <summary>
/// net_vhost with a real guest: QEMU (TCG) boots Debian's kernel, whose virtio-net driver runs on our
/// back-end over vhost-user; our engine answers with macswap on a worker lcore. Frames the guest
/// sends come back to it, counted on both sides.
/// </summary>
[Collection(GuestCollection.Name)]
public sealed class VhostBackendGuestTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheGuestKernelNicOnOurBackendGetsEveryFrameBackSwapped(bool qemuIsServer)
    {
        const int frames = 1000;
        // QEMU as the server: we are the client and reconnect until it listens (client=1).
        using var rig = new VhostPortRig(qemuIsServer ? "client=1" : "");
        int cpu = Environment.ProcessorCount - 1;
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption($"0@{cpu},1@{cpu}"), pinMain: false);
        var fwd = new ForwardingEngine(rig.Ports, lcores, new ForwardingConfig { Mode = "macswap", TxRetry = true });
        fwd.Start();
        GuestResult result;
        try
        {
            result = QemuGuest.Run(new GuestOptions
            {
                Script = Path.Combine(GuestImage.ScriptsDir, "vhost-user-kernel-nic.sh"),
                Nic = GuestNic.VhostUser,
                VhostUserSocket = rig.Socket,
                VhostUserQemuIsServer = qemuIsServer,
                Env = new Dictionary<string, string> { ["FRAMES"] = $"{frames}" },
                Timeout = TimeSpan.FromSeconds(120),
            });
        }
        finally
        {
            fwd.Stop();
        }
        log.WriteLine(result.Describe(15));
        var ours = rig.Port.GetStats();
        log.WriteLine($"net_vhost: rx {ours.RxPackets} tx {ours.TxPackets} rx errors {ours.RxErrors} tx errors {ours.TxErrors}");

        Assert.True(result.ExitCode == 0, result.Describe());
        var nic = result.Values("nic");
        var raw = result.Values("rawframes");
        Assert.Equal("1", nic["carrier"]);
        Assert.Equal($"{frames}", raw["sent"]);
        Assert.Equal($"{frames}", raw["echoed"]);
        // Everything the guest's NIC sent reached us; everything we sent back reached it.
        Assert.Equal(ulong.Parse(nic["tx_packets"]), ours.RxPackets);
        Assert.Equal(ours.RxPackets, ours.TxPackets);
        Assert.Equal(ulong.Parse(nic["rx_packets"]), ours.TxPackets);
        Assert.Equal(0UL, ours.RxErrors + ours.TxErrors);
    }
}
