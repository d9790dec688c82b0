using Datapath.Engine.Packets;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>What a hostile driver gets wrong is visible to the operator: per-vring xstats that only grow.</summary>
public class HostileCountersTests
{
    [Fact]
    public void BadDescriptorsShowInExtendedStatsAndSurviveARingRestart()
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig);
        Assert.True(rig.WaitLinkUp(TimeSpan.FromSeconds(30)));
        var burst = new Packet[8];

        // A zero-length descriptor on the guest's transmit ring (vring 1): dropped and counted.
        guest.Tx.SetDescriptor(2, guest.BufferGpa(3), 0);
        guest.Tx.Offer(2);
        Assert.Equal(0, rig.Port.RxBurst(0, burst));
        Assert.Equal(1UL, XStat(rig, "vring1_bad_descriptors"));

        // Any quiescing request rebuilds the ring; the count stays.
        guest.Rogue.Send(Datapath.Drivers.VhostUser.VhostUserRequest.SetVringEnable, new Datapath.Drivers.VhostUser.VringState { Index = 0, Num = 1 });
        guest.Rogue.Ping();
        Assert.Equal(1UL, XStat(rig, "vring1_bad_descriptors"));
        Assert.Equal(0UL, XStat(rig, "vring0_bad_descriptors"));
    }

    static ulong XStat(VhostPortRig rig, string name) =>
        rig.Port.ExtendedStats().Single(kv => kv.Key == name).Value;
}
