using Datapath.Drivers.Virtio;
using Datapath.Drivers.VirtioPci;

namespace Datapath.Tests.Drivers.VirtioPci;

/// <summary>struct virtio_net_config (virtio 1.2 §5.1.4): fields count only when negotiated, and bad values are ignored.</summary>
public class VirtioNetConfigTests
{
    static readonly byte[] Config = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x01, 0x00, 0x01, 0x00, 0xdc, 0x05];
    const ulong All = VirtioFeatures.NetMac | VirtioFeatures.NetStatus | VirtioFeatures.NetMtu;

    [Fact]
    public void Reads_mac_link_and_mtu_when_negotiated()
    {
        var c = VirtioNetConfig.Parse(Config, All);
        Assert.Equal("52:54:00:12:34:56", c.Mac.ToString());
        Assert.True(c.LinkUp);
        Assert.Equal(1500, c.Mtu);
    }

    [Fact]
    public void Without_the_features_nothing_is_read_and_the_link_is_up()
    {
        var c = VirtioNetConfig.Parse(Config, 0);
        Assert.Null(c.Mac);
        Assert.Null(c.Mtu);
        Assert.True(c.LinkUp);   // §5.1.4.2: no VIRTIO_NET_F_STATUS, link assumed up
    }

    [Fact]
    public void Link_down_multicast_mac_and_tiny_mtu_from_the_device_are_not_trusted()
    {
        byte[] bad = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x10, 0x00];
        var c = VirtioNetConfig.Parse(bad, All);
        Assert.Null(c.Mac);
        Assert.False(c.LinkUp);
        Assert.Null(c.Mtu);
        Assert.False(VirtioNetConfig.Parse(Config[..4], All).LinkUp);   // a short structure: status unreadable
    }

    [Theory]
    [InlineData((ushort)4, 4)]
    [InlineData((ushort)0x8000, 0x8000)]
    [InlineData((ushort)0, null)]        // §5.1.4.1: at least VQ_PAIRS_MIN
    [InlineData((ushort)0x8001, null)]   // and at most VQ_PAIRS_MAX
    public void Max_virtqueue_pairs_counts_only_with_mq_and_within_the_spec_range(ushort raw, int? expected)
    {
        byte[] c = [.. Config];
        c[8] = (byte)raw;
        c[9] = (byte)(raw >> 8);
        Assert.Equal(expected, VirtioNetConfig.Parse(c, All | VirtioFeatures.NetMq).MaxVirtqueuePairs);
        Assert.Null(VirtioNetConfig.Parse(c, All).MaxVirtqueuePairs);
    }
}
