using Datapath.Drivers.Virtio;
using Datapath.Drivers.VirtioUser;
using Datapath.Engine.Net;
using Datapath.Engine.Ports;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>net_virtio_user's device args, as DPDK spells them.</summary>
public class VirtioUserArgsTests
{
    static VirtioUserArgs Parse(string spec) => VirtioUserArgs.Parse(DeviceArgs.Parse(spec), MacAddress.Local(1));

    [Fact]
    public void DefaultsAreDpdksAndQueuesImplyAControlQueue()
    {
        var a = Parse("net_virtio_user0,path=/tmp/x.sock");
        Assert.Equal((1, 256, false, true, true, false), (a.QueuePairs, a.QueueSize, a.Server, a.MergeableRx, a.InOrder, a.ControlQueue));
        var b = Parse("net_virtio_user0,path=/tmp/x.sock,queues=2,queue_size=1024,server=1,mrg_rxbuf=0,in_order=0,mac=02:00:00:00:00:42");
        Assert.Equal((2, 1024, true, false, false, true), (b.QueuePairs, b.QueueSize, b.Server, b.MergeableRx, b.InOrder, b.ControlQueue));
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:42"), b.Mac);
        Assert.Equal(VirtioFeatures.Version1 | VirtioFeatures.NetMq, b.WantedFeatures());
        var c = Parse("net_virtio_user0,path=/tmp/x.sock,packed_vq=1,mrg_rxbuf=0,in_order=0");
        Assert.True(c.PackedRing);
        Assert.Equal(VirtioFeatures.Version1 | VirtioFeatures.RingPacked, c.WantedFeatures());
    }

    [Theory]
    [InlineData("net_virtio_user0", "'path' is required")]
    [InlineData("net_virtio_user0,path=/x,queue_size=100", "queue_size=100 must be a power of two")]
    [InlineData("net_virtio_user0,path=/x,queues=0", "queues=0 is out of range")]
    public void BadArgsSayWhatIsWrong(string spec, string message)
    {
        var e = Assert.Throws<DeviceArgsException>(() => Parse(spec));
        Assert.Contains(message, e.Message);
    }
}
