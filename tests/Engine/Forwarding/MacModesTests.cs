using Datapath.Engine.Forwarding;
using Datapath.Engine.Net;
using Datapath.Tests.Engine.Net;

namespace Datapath.Tests.Engine.Forwarding;

public class MacModesTests
{
    static byte[] UdpFrame(MacAddress dst, MacAddress src) =>
        Frames.Ethernet(dst, src, 0x0800,
            Frames.Ipv4(17, Frames.HostIp, Frames.TargetIp, Frames.Udp(Frames.HostIp, Frames.TargetIp, 1000, 2000, Frames.Payload(37, 1))));

    [Fact]
    public void Mac_sets_source_to_tx_port_and_destination_to_its_peer()
    {
        using var loop = new RingLoop("fwd-mac");
        byte[] sent = UdpFrame(Frames.HostMac, Frames.OtherMac);
        loop.Inject(sent, sent);

        loop.RunOnce(ForwardModes.Create("mac"));

        var got = loop.Collect();
        Assert.Equal(2, got.Count);
        foreach (var f in got)
        {
            Assert.Equal(loop.Context.PeerMacs[loop.Dut.Id], new MacAddress(f.AsSpan(0, 6)));
            Assert.Equal(loop.Dut.Info.Mac, new MacAddress(f.AsSpan(6, 6)));
            Assert.Equal(sent.AsSpan(12).ToArray(), f.AsSpan(12).ToArray()); // the rest untouched
        }
        Assert.Equal(2UL, loop.Stream.Counters.RxPackets);
        Assert.Equal(2UL, loop.Stream.Counters.TxPackets);
    }

    [Fact]
    public void Macswap_exchanges_source_and_destination()
    {
        using var loop = new RingLoop("fwd-macswap");
        byte[] sent = UdpFrame(Frames.HostMac, Frames.OtherMac);
        loop.Inject(sent);

        loop.RunOnce(ForwardModes.Create("macswap"));

        byte[] f = Assert.Single(loop.Collect());
        Assert.Equal(Frames.OtherMac, new MacAddress(f.AsSpan(0, 6)));
        Assert.Equal(Frames.HostMac, new MacAddress(f.AsSpan(6, 6)));
        Assert.Equal(sent.AsSpan(12).ToArray(), f.AsSpan(12).ToArray());
    }

    [Fact]
    public void Every_mode_in_the_table_reports_its_own_name()
    {
        foreach (string name in ForwardModes.Names) Assert.Equal(name, ForwardModes.Create(name).Name);
        Assert.Contains("icmpecho", ForwardModes.Names);
        Assert.Throws<ArgumentException>(() => ForwardModes.Create("no-such-mode"));
    }
}
