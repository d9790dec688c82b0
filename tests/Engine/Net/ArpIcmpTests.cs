using Datapath.Engine.Net;

namespace Datapath.Tests.Engine.Net;

public unsafe class ArpIcmpTests
{
    [Fact]
    public void Arp_reply_swaps_sender_and_target_and_names_our_mac()
    {
        byte[] arp = Frames.ArpRequest(Frames.OtherMac, Frames.HostIp, Frames.TargetIp);
        var ours = MacAddress.Parse("02:00:00:00:00:70");
        fixed (byte* a = arp)
        {
            Assert.True(Arp.IsEthernetIpv4(a));
            Assert.Equal(Arp.OpRequest, Arp.Opcode(a));
            Arp.MakeReply(a, ours);
            Assert.Equal(Arp.OpReply, Arp.Opcode(a));
        }
        Assert.Equal(ours, new MacAddress(arp.AsSpan(8, 6)));
        Assert.Equal(Frames.TargetIp, arp[14..18]);
        Assert.Equal(Frames.OtherMac, new MacAddress(arp.AsSpan(18, 6)));
        Assert.Equal(Frames.HostIp, arp[24..28]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(56)]
    [InlineData(1471)]
    public void Echo_reply_checksum_is_updated_incrementally_and_right(int dataLength)
    {
        byte[] icmp = Frames.IcmpEchoRequest(0x1234, 7, Frames.Payload(dataLength, dataLength));
        fixed (byte* m = icmp) Icmp.MakeEchoReply(m);
        Assert.Equal(Icmp.TypeEchoReply, icmp[0]);
        byte[] zeroed = (byte[])icmp.Clone();
        zeroed[2] = 0; zeroed[3] = 0;
        Assert.Equal(Rfc1071.Checksum(zeroed), Rfc1071.ReadBE(icmp, 2));
        Assert.Equal(0, Rfc1071.Checksum(icmp)); // the whole message checks
    }
}
