using Datapath.Engine.Forwarding;
using Datapath.Engine.Net;
using Datapath.Tests.Engine.Net;

namespace Datapath.Tests.Engine.Forwarding;

public class CsumModeTests
{
    static byte[] UdpFrame(byte[] data, bool udpChecksum = true) =>
        Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x0800,
            Frames.Ipv4(17, Frames.TargetIp, Frames.HostIp, Frames.Udp(Frames.TargetIp, Frames.HostIp, 4000, 53, data, udpChecksum)));

    static byte[] TcpFrame(byte[] data) =>
        Frames.Ethernet(Frames.HostMac, Frames.OtherMac, 0x0800,
            Frames.Ipv4(6, Frames.TargetIp, Frames.HostIp, Frames.Tcp(Frames.TargetIp, Frames.HostIp, 443, 50000, data)));

    [Fact]
    public void Counts_bad_checksums_fixes_them_and_forwards_everything()
    {
        using var loop = new RingLoop("fwd-csum");
        byte[] good = UdpFrame(Frames.Payload(31, 1));
        byte[] badIp = UdpFrame(Frames.Payload(40, 2)); badIp[24] ^= 0xFF;            // IPv4 header checksum
        byte[] badUdp = UdpFrame(Frames.Payload(41, 3)); badUdp[42 + 5] ^= 0x01;      // a payload byte
        byte[] badTcp = TcpFrame(Frames.Payload(99, 4)); badTcp[34 + 16] ^= 0x80;      // TCP checksum field
        byte[] noUdpSum = UdpFrame(Frames.Payload(10, 5), udpChecksum: false);
        byte[] arp = Frames.Ethernet(MacAddress.Broadcast, Frames.OtherMac, 0x0806, Frames.ArpRequest(Frames.OtherMac, Frames.HostIp, Frames.TargetIp));
        loop.Inject(good, badIp, badUdp, badTcp, noUdpSum, arp);

        loop.RunOnce(ForwardModes.Create("csum"));

        Assert.Equal(1UL, loop.Stream.Counters.BadIpChecksum);
        Assert.Equal(2UL, loop.Stream.Counters.BadL4Checksum);
        var got = loop.Collect();
        Assert.Equal(6, got.Count);
        foreach (var f in got)
        {
            // MACs rewritten as the mac mode does.
            Assert.Equal(loop.Context.PeerMacs[loop.Dut.Id], new MacAddress(f.AsSpan(0, 6)));
            Assert.Equal(loop.Dut.Info.Mac, new MacAddress(f.AsSpan(6, 6)));
            if (Rfc1071.ReadBE(f, 12) != 0x0800) continue;
            var ip = f.AsSpan(14, 20);
            Assert.Equal(0, Rfc1071.Checksum(ip));
            var l4 = f.AsSpan(34, Rfc1071.ReadBE(ip, 2) - 20);
            if (ip[9] == 17 && Rfc1071.ReadBE(l4, 6) == 0) continue; // "no checksum" stays so
            Assert.Equal(0, Rfc1071.L4(ip, l4, ip[9]));
        }
        Assert.Equal(0, Rfc1071.ReadBE(got[4], 40));
        Assert.Equal(arp.AsSpan(12).ToArray(), got[5].AsSpan(12).ToArray()); // non-IP frames pass through
    }

    [Fact]
    public void Good_frames_come_out_with_the_same_checksums()
    {
        using var loop = new RingLoop("fwd-csum-good");
        byte[] udp = UdpFrame(Frames.Payload(200, 6));
        byte[] tcp = TcpFrame(Frames.Payload(1, 7));
        loop.Inject(udp, tcp);

        loop.RunOnce(ForwardModes.Create("csum"));

        var got = loop.Collect();
        Assert.Equal(udp.AsSpan(12).ToArray(), got[0].AsSpan(12).ToArray());
        Assert.Equal(tcp.AsSpan(12).ToArray(), got[1].AsSpan(12).ToArray());
        Assert.Equal(0UL, loop.Stream.Counters.BadIpChecksum + loop.Stream.Counters.BadL4Checksum);
    }
}
