using Datapath.Engine.Forwarding;
using Datapath.Engine.Net;
using Datapath.Tests.Engine.Net;

namespace Datapath.Tests.Engine.Forwarding;

public class IcmpEchoModeTests
{
    [Fact]
    public void Answers_an_arp_request_for_any_address_from_the_port_mac()
    {
        using var loop = new RingLoop("fwd-icmpecho-arp");
        loop.Inject(Frames.Ethernet(MacAddress.Broadcast, Frames.OtherMac, 0x0806,
            Frames.ArpRequest(Frames.OtherMac, Frames.HostIp, Frames.TargetIp)));

        loop.RunOnce(ForwardModes.Create("icmpecho"));

        byte[] f = Assert.Single(loop.Collect());
        var ours = loop.Dut.Info.Mac;
        Assert.Equal(Frames.OtherMac, new MacAddress(f.AsSpan(0, 6)));   // back to the requester
        Assert.Equal(ours, new MacAddress(f.AsSpan(6, 6)));
        Assert.Equal(0x0806, Rfc1071.ReadBE(f, 12));
        var arp = f.AsSpan(14);
        Assert.Equal(2, Rfc1071.ReadBE(arp, 6));                         // reply
        Assert.Equal(ours, new MacAddress(arp.Slice(8, 6)));              // sender: us …
        Assert.Equal(Frames.TargetIp, arp.Slice(14, 4).ToArray());        // … at the address asked for
        Assert.Equal(Frames.OtherMac, new MacAddress(arp.Slice(18, 6)));  // target: the requester
        Assert.Equal(Frames.HostIp, arp.Slice(24, 4).ToArray());
    }

    [Fact]
    public void Answers_an_echo_request_with_a_valid_echo_reply()
    {
        using var loop = new RingLoop("fwd-icmpecho-ping");
        byte[] data = Frames.Payload(57, 5); // odd length: the checksum's padding case
        byte[] request = Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x0800,
            Frames.Ipv4(1, Frames.TargetIp, Frames.HostIp, Frames.IcmpEchoRequest(0xbeef, 3, data)));
        loop.Inject(request);

        loop.RunOnce(ForwardModes.Create("icmpecho"));

        byte[] f = Assert.Single(loop.Collect());
        Assert.Equal(request.Length, f.Length);
        Assert.Equal(Frames.OtherMac, new MacAddress(f.AsSpan(0, 6)));
        Assert.Equal(Frames.HostMac, new MacAddress(f.AsSpan(6, 6)));
        var ip = f.AsSpan(14, 20);
        Assert.Equal(Frames.HostIp, ip.Slice(12, 4).ToArray());
        Assert.Equal(Frames.TargetIp, ip.Slice(16, 4).ToArray());
        Assert.Equal(0, Rfc1071.Checksum(ip));
        var icmp = f.AsSpan(34);
        Assert.Equal(0, icmp[0]);                                  // echo reply
        Assert.Equal(0, icmp[1]);
        Assert.Equal(0, Rfc1071.Checksum(icmp));                   // checksum right over the whole message
        Assert.Equal(request.AsSpan(38).ToArray(), icmp[4..].ToArray()); // identifier, sequence, data echoed
    }

    [Fact]
    public void Frees_and_counts_everything_else()
    {
        using var loop = new RingLoop("fwd-icmpecho-other");
        int inUse = loop.Pool.InUse;
        byte[] arpReply = Frames.ArpRequest(Frames.OtherMac, Frames.HostIp, Frames.TargetIp);
        arpReply[7] = 2;
        byte[] echoReply = Frames.IcmpEchoRequest(1, 1, [1, 2, 3]);
        echoReply[0] = 0;
        loop.Inject(
            Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x0800,
                Frames.Ipv4(17, Frames.TargetIp, Frames.HostIp, Frames.Udp(Frames.TargetIp, Frames.HostIp, 1, 2, [9]))),
            Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x0806, arpReply),
            Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x0800, Frames.Ipv4(1, Frames.TargetIp, Frames.HostIp, echoReply)),
            Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x86DD, Frames.Payload(40, 1)),
            Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x0800, [0x45, 0, 0]),   // truncated IPv4
            [1, 2, 3]);                                                                // not even an Ethernet header

        loop.RunOnce(ForwardModes.Create("icmpecho"));

        Assert.Empty(loop.Collect());
        Assert.Equal(6UL, loop.Stream.Counters.Ignored);
        Assert.Equal(0UL, loop.Stream.Counters.TxPackets);
        Assert.Equal(inUse, loop.Pool.InUse);
    }
}
