using Datapath.Drivers;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Engine.Ports;

public class DeviceArgsTests
{
    [Fact]
    public void ParsesNameAndKeysAsVdevStrings()
    {
        var a = DeviceArgs.Parse("net_vhost0,iface=/tmp/vhost0.sock,queues=2");
        Assert.Equal("net_vhost0", a.Name);
        Assert.Equal("/tmp/vhost0.sock", a.GetString("iface"));
        Assert.Equal(2, a.GetInt("queues", 1, 1, 8));
        Assert.Equal(7, a.GetInt("missing", 7, 1, 8));
        Assert.Equal("net_vhost0,iface=/tmp/vhost0.sock,queues=2", a.ToString());
    }

    [Theory]
    [InlineData("net_null0,queues=0", "queues=0 is out of range")]
    [InlineData("net_null0,size=abc", "size=abc is not a number")]
    [InlineData("net_null0,copy=maybe", "copy=maybe must be 0 or 1")]
    [InlineData("net_null0,novalue", "'novalue' is not key=value")]
    [InlineData("net_null0,a=1,a=2", "given twice")]
    public void BadValuesNameTheKeyAndTheRange(string spec, string message)
    {
        var a = DeviceArgs.Parse(spec.Split(',')[0]);
        var e = Assert.ThrowsAny<DeviceArgsException>(() =>
        {
            var args = DeviceArgs.Parse(spec);
            args.GetInt("queues", 1, 1, 16);
            args.GetInt("size", 64, 0, 9000);
            args.GetBool("copy", false);
        });
        Assert.Contains(message, e.Message);
        Assert.Equal("net_null0", a.Name);
    }

    [Fact]
    public void RegistryPicksTheDriverByPrefixAndRejectsUnknownOnes()
    {
        var registry = DriverCatalog.CreateRegistry();
        Assert.Equal("net_ring", registry.Find("net_ring0")!.Name);
        Assert.Equal("net_null", registry.Find("net_null_a")!.Name);
        using var ports = new PortTable();
        var ctx = new DriverContext(MemoryOptions.Default, ports);
        var e = Assert.Throws<DeviceArgsException>(() => registry.Create("net_foo0", ctx));
        Assert.StartsWith("unknown driver net_foo0 (known: net_null, net_ring, net_vhost, net_virtio_user", e.Message);
        var k = Assert.Throws<DeviceArgsException>(() => registry.Create("net_ring0,colour=blue", ctx));
        Assert.Contains("unknown key 'colour' (valid: queues, size, peer, mac)", k.Message);
        var q = Assert.Throws<DeviceArgsException>(() => registry.Create("net_ring0,queues=0", ctx));
        Assert.Contains("queues=0 is out of range (1..16)", q.Message);
    }
}
