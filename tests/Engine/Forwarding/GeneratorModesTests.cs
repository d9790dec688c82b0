using System.Net;
using Datapath.Engine.Forwarding;
using Datapath.Tests.Engine.Net;

namespace Datapath.Tests.Engine.Forwarding;

public class GeneratorModesTests
{
    [Fact]
    public void Txonly_frames_are_valid_ipv4_udp()
    {
        using var loop = new RingLoop("fwd-txonly", txPackets: [71]);
        loop.RunOnce(ForwardModes.Create("txonly"), burstSize: 8);

        var got = loop.Collect();
        Assert.Equal(8, got.Count);
        foreach (var f in got)
        {
            Assert.Equal(71, f.Length);
            Assert.Equal(0x0800, Rfc1071.ReadBE(f, 12));
            var ip = f.AsSpan(14, 20);
            Assert.Equal(0, Rfc1071.Checksum(ip));             // header checksum right
            Assert.Equal(71 - 14, Rfc1071.ReadBE(f, 16));        // total length
            Assert.Equal(71 - 34, Rfc1071.ReadBE(f, 38));        // UDP length
            Assert.Equal(0, Rfc1071.ReadBE(f, 40));              // UDP checksum 0: "none", legal over IPv4 (RFC 768)
        }
    }

    [Theory]
    [InlineData(0)]   // first byte of the first compare
    [InlineData(25)]  // covered by the first compare only
    [InlineData(31)]  // last byte of the first compare
    [InlineData(32)]  // covered by the second compare only
    [InlineData(41)]  // last header byte
    public unsafe void Txonly_rewrites_headers_that_a_recycled_buffer_holds_wrong(int wrongByte)
    {
        using var loop = new RingLoop($"fwd-txonly-stale-{wrongByte}", txPackets: [64]);
        var mode = ForwardModes.Create("txonly");
        loop.RunOnce(mode, burstSize: 8);
        byte[] good = loop.Collect()[0][..TxOnlyMode.HeaderBytes];

        // Every free buffer holds the right headers but one byte, whichever buffers txonly gets next.
        var all = new Datapath.Engine.Packets.Packet[loop.Pool.Available];
        Assert.True(loop.Pool.Alloc(all));
        foreach (var p in all)
        {
            good.CopyTo(new Span<byte>(p.Data, good.Length));
            p.Data[wrongByte] ^= 0x5A;
        }
        Datapath.Engine.Packets.PacketPool.FreeBulk(all);

        loop.RunOnce(mode, burstSize: 8);
        var got = loop.Collect();
        Assert.Equal(8, got.Count);
        foreach (var f in got) Assert.Equal(good, f[..TxOnlyMode.HeaderBytes]);
    }

    [Fact]
    public void Flowgen_cycles_destinations_with_a_valid_header_checksum_each()
    {
        const int flows = 5;
        using var loop = new RingLoop("fwd-flowgen", flowCount: flows, txPackets: [60]);
        var mode = ForwardModes.Create("flowgen");
        mode.Prepare(loop.Context);
        var burst = new Datapath.Engine.Packets.Packet[8];
        mode.Run(loop.Stream, burst);
        mode.Run(loop.Stream, burst); // the flow counter carries on across bursts

        var got = loop.Collect();
        Assert.Equal(16, got.Count);
        uint baseDst = (uint)IPAddress.NetworkToHostOrder(BitConverter.ToInt32(loop.Context.TxDestinationIp.GetAddressBytes()));
        for (int i = 0; i < got.Count; i++)
        {
            byte[] f = got[i];
            Assert.Equal(0, Rfc1071.Checksum(f.AsSpan(14, 20)));
            uint dst = (uint)(f[30] << 24 | f[31] << 16 | f[32] << 8 | f[33]);
            Assert.Equal(baseDst + (uint)(i % flows), dst);
            Assert.Equal(loop.Context.TxSourceIp.GetAddressBytes(), f[26..30]);
        }
        Assert.Equal(flows, got.Select(f => Convert.ToHexString(f, 30, 4)).Distinct().Count());
    }

    [Fact]
    public void Flowgen_frees_what_it_receives()
    {
        using var loop = new RingLoop("fwd-flowgen-rx", flowCount: 3);
        int inUse = loop.Pool.InUse;
        loop.Inject(Frames.Payload(64, 1), Frames.Payload(64, 2));

        loop.RunOnce(ForwardModes.Create("flowgen"), burstSize: 4);

        Assert.Equal(2UL, loop.Stream.Counters.RxPackets);
        Assert.Equal(4, loop.Collect().Count);
        Assert.Equal(inUse, loop.Pool.InUse);
    }
}
